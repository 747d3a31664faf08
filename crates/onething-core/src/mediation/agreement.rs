//! The mediation agreement (调解协议书, 人民调解法 §28–§30): its content as §29 lists it, its signatures and
//! seal, and when it takes effect — derived from the marks, never typed in.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::MediationError;
use super::party::Party;

/// How the agreement was made (§28): a written document (调解协议书) or an oral agreement (口头协议) whose
/// content the mediator records.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum AgreementForm {
    Written,
    Oral,
}

/// How, where and by when a term is performed (履行的方式、地点、期限).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Performance {
    pub method: String,
    pub place: String,
    pub deadline: Date,
}

/// One agreed term (协议内容), with its performance; a written agreement states the performance of every term.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Term {
    pub text: String,
    pub performance: Option<Performance>,
}

/// A party's responsibility (各方当事人的责任).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Responsibility {
    pub party: String,
    pub text: String,
}

/// What the mediator drafts: §29 (二) and (三). The parties' basic facts (§29 (一)) are taken from the case.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct AgreementContent {
    /// The agreement's number (协议书编号), given by the committee.
    pub number: String,
    /// The dispute's main facts (纠纷的主要事实).
    pub facts: String,
    /// The disputed issues (争议事项).
    pub issues: Vec<String>,
    pub responsibilities: Vec<Responsibility>,
    pub terms: Vec<Term>,
}

impl AgreementContent {
    /// Checks the content for the parties: number, facts, at least one issue and one term, a responsibility
    /// for every party and none for a stranger, and for a written agreement the performance of every term.
    pub(super) fn check(&self, form: AgreementForm, parties: &[Party]) -> Result<(), MediationError> {
        let missing = |what: String| Err(MediationError::IncompleteAgreement(what));
        if self.number.trim().is_empty() {
            return missing("the number".into());
        }
        if self.facts.trim().is_empty() {
            return missing("the main facts of the dispute".into());
        }
        if self.issues.is_empty() || self.issues.iter().any(|i| i.trim().is_empty()) {
            return missing("the disputed issues".into());
        }
        for r in &self.responsibilities {
            if !parties.iter().any(|p| p.id == r.party) {
                return Err(MediationError::UnknownParty(r.party.clone()));
            }
        }
        for p in parties {
            if !self.responsibilities.iter().any(|r| r.party == p.id && !r.text.trim().is_empty()) {
                return missing(format!("the responsibility of party {}", p.id));
            }
        }
        if self.terms.is_empty() {
            return missing("the agreed terms".into());
        }
        for (i, t) in self.terms.iter().enumerate() {
            let n = i + 1;
            if t.text.trim().is_empty() {
                return missing(format!("the text of term {n}"));
            }
            match (&t.performance, form) {
                (None, AgreementForm::Written) => return missing(format!("the performance of term {n}")),
                (Some(p), _) if p.method.trim().is_empty() => {
                    return missing(format!("the performance method of term {n}"));
                }
                (Some(p), _) if p.place.trim().is_empty() => {
                    return missing(format!("the performance place of term {n}"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A mark on the agreement (签名、盖章或者按指印).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// 签名
    Signature,
    /// 盖章
    Seal,
    /// 按指印
    Fingerprint,
}

/// Who marks the agreement: a party (itself, or its specially authorised agent), a mediator, or the committee
/// with its seal (人民调解委员会印章).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Hash)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signer {
    Party { party: String, by_agent: bool },
    Mediator { mediator: String },
    Committee,
}

impl Signer {
    /// Whether two marks are by the same required signer (a party signs once, itself or by its agent).
    fn same_as(&self, other: &Signer) -> bool {
        match (self, other) {
            (Signer::Party { party: a, .. }, Signer::Party { party: b, .. }) => a == b,
            (a, b) => a == b,
        }
    }
}

/// One mark, with when it was made.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Signature {
    pub signer: Signer,
    pub mark: Mark,
    pub at: Timestamp,
}

/// A mediator (调解员).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Hash)]
pub struct Mediator {
    pub id: String,
    pub name: String,
}

/// An agreement: its form, content, who must mark it, the marks made, and when it took effect.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Agreement {
    pub form: AgreementForm,
    pub content: AgreementContent,
    /// The parties' basic facts when the agreement was made (§29 (一)).
    pub parties: Vec<Party>,
    /// The mediators who sign.
    pub mediators: Vec<Mediator>,
    pub made_at: Timestamp,
    pub signatures: Vec<Signature>,
    /// Written: the last required mark (§29); oral: the day it was reached (§30).
    pub effective_at: Option<Timestamp>,
    /// The parties given their copy (送达), one each; the committee keeps one.
    pub copies_delivered: Vec<String>,
}

impl Agreement {
    /// Every mark a written agreement needs: each party, each mediator, the committee's seal.
    pub fn required(&self) -> Vec<Signer> {
        let parties = self.parties.iter().map(|p| Signer::Party { party: p.id.clone(), by_agent: false });
        let mediators = self.mediators.iter().map(|m| Signer::Mediator { mediator: m.id.clone() });
        parties.chain(mediators).chain([Signer::Committee]).collect()
    }

    /// The marks still missing.
    pub fn missing(&self) -> Vec<Signer> {
        self.required().into_iter().filter(|r| !self.has_signed(r)).collect()
    }

    pub fn has_signed(&self, signer: &Signer) -> bool {
        self.signatures.iter().any(|s| s.signer.same_as(signer))
    }

    /// When a written agreement with `extra` added takes effect: the latest of its marks once none is missing.
    pub(super) fn effective_with(&self, extra: &Signer, at: Timestamp) -> Option<Timestamp> {
        let complete = self.required().iter().all(|r| r.same_as(extra) || self.has_signed(r));
        complete.then(|| self.signatures.iter().map(|s| s.at).chain([at]).max().unwrap_or(at))
    }
}
