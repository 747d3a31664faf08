//! Users, roles and sessions: Argon2id password hashes, random bearer tokens stored only as their SHA-256,
//! with an expiry. Demo users for `serve --demo`.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use onething_store::{Changeset, NewEvent, TokenRow, UserRow};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Service, ServiceError, new_id};

/// A role (角色): what a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 申请人: files and follows own cases.
    Applicant,
    /// 综合窗口: accepts, returns for correction, files for an applicant (帮办代办).
    Clerk,
    /// 部门审批人: works the tasks of one department.
    Officer,
    /// 电子监察: reads everything.
    Supervisor,
    /// 管理员: keeps users and the catalogue; reads everything.
    Admin,
    /// 部门负责人: an officer who heads the department; receives warnings and interviews (约谈).
    Head,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::Clerk => "clerk",
            Role::Officer => "officer",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::Head => "head",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        [Role::Applicant, Role::Clerk, Role::Officer, Role::Supervisor, Role::Admin, Role::Head]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A signed-in user.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub roles: Vec<Role>,
    pub department: Option<String>,
}

impl User {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Supervisors and administrators read every case.
    pub fn reads_all(&self) -> bool {
        self.has(Role::Supervisor) || self.has(Role::Admin) || self.has(Role::Clerk)
    }

    /// The system acting as a supervisor (reports from the command line, demo data).
    pub fn system_supervisor() -> User {
        User {
            id: "system".into(),
            username: "system".into(),
            roles: vec![Role::Supervisor, Role::Admin],
            department: None,
        }
    }

    fn from_row(row: &UserRow) -> User {
        User {
            id: row.id.clone(),
            username: row.username.clone(),
            roles: row.roles.iter().filter_map(|r| Role::parse(r)).collect(),
            department: row.department.clone(),
        }
    }
}

fn argon2() -> Argon2<'static> {
    // The OWASP minimum for Argon2id (19 MiB, 2 passes); the same parameters in tests, so what is tested is
    // what runs.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

fn random_hex(bytes: usize) -> Result<String, ServiceError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    Ok(onething_store::hex(&buf))
}

/// A random password for demo users.
pub fn random_password() -> Result<String, ServiceError> {
    random_hex(8)
}

fn token_hash(token: &str) -> String {
    onething_store::hex(&Sha256::digest(token.as_bytes()))
}

impl Service {
    /// Creates or updates a user (by username), with one `user_saved` event.
    pub async fn save_user(
        &self,
        username: &str,
        password: &str,
        roles: &[Role],
        department: Option<&str>,
    ) -> Result<User, ServiceError> {
        if username.trim().is_empty() || password.len() < 8 {
            return Err(ServiceError::bad(
                "bad_user",
                "password",
                "a user needs a name and a password of 8+ characters",
            ));
        }
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || {
            let salt = SaltString::encode_b64(&random_hex(16)?.into_bytes()[..16])
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| ServiceError::Internal(e.to_string()))
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
        let now = self.now();
        let existing = self.store.user_by_name(username).await?;
        let row = UserRow {
            id: existing.as_ref().map_or_else(new_id, |u| u.id.clone()),
            username: username.to_string(),
            password_hash: hash,
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            department: department.map(str::to_string),
            created_at: existing.as_ref().map_or(now, |u| u.created_at),
        };
        let payload = serde_json::json!({ "username": username, "roles": row.roles, "department": department });
        let event = NewEvent {
            id: new_id(),
            case_id: None,
            kind: "user_saved".into(),
            actor: "system".into(),
            at: now,
            payload: payload.to_string(),
        };
        let user = User::from_row(&row);
        self.store.commit(Changeset { users: vec![row], event: Some(event), ..Changeset::default() }).await?;
        Ok(user)
    }

    /// Signs in: checks the password and issues a bearer token (returned once, stored hashed).
    pub async fn login(&self, username: &str, password: &str) -> Result<(String, User), ServiceError> {
        let row = self.store.user_by_name(username).await?;
        let Some(row) = row else {
            // Spend the same work as a real check, so a missing user is not told apart by timing.
            let _ = verify_password(
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000",
                password,
            )
            .await;
            return Err(ServiceError::BadCredentials);
        };
        if !verify_password(&row.password_hash, password).await {
            return Err(ServiceError::BadCredentials);
        }
        let token = random_hex(32)?;
        let now = self.now();
        let expires_at = now.checked_add(self.config.token_ttl).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let event = NewEvent {
            id: new_id(),
            case_id: None,
            kind: "session_created".into(),
            actor: row.id.clone(),
            at: now,
            payload: serde_json::json!({ "username": row.username }).to_string(),
        };
        let tokens =
            vec![TokenRow { token_hash: token_hash(&token), user_id: row.id.clone(), created_at: now, expires_at }];
        self.store.commit(Changeset { tokens, event: Some(event), ..Changeset::default() }).await?;
        Ok((token, User::from_row(&row)))
    }

    /// The user of a bearer token, if it exists and has not expired.
    pub async fn authenticate(&self, token: &str) -> Result<User, ServiceError> {
        let found = self.store.token(&token_hash(token)).await?;
        match found {
            Some((t, u)) if t.expires_at > self.now() => Ok(User::from_row(&u)),
            _ => Err(ServiceError::Unauthenticated),
        }
    }

    /// Creates the demo users — `applicant`, `clerk`, `supervisor`, `admin` and `officer-<department>` for
    /// every department — with one password. Returns their names.
    pub async fn seed_demo_users(&self, password: &str) -> Result<Vec<String>, ServiceError> {
        let mut names = Vec::new();
        for (name, role) in [
            ("applicant", Role::Applicant),
            ("clerk", Role::Clerk),
            ("supervisor", Role::Supervisor),
            ("admin", Role::Admin),
        ] {
            self.save_user(name, password, &[role], None).await?;
            names.push(name.to_string());
        }
        let departments: Vec<String> = self.current.departments.keys().cloned().collect();
        for d in departments {
            let name = format!("officer-{d}");
            self.save_user(&name, password, &[Role::Officer], Some(&d)).await?;
            names.push(name);
            let head = format!("head-{d}");
            self.save_user(&head, password, &[Role::Officer, Role::Head], Some(&d)).await?;
            names.push(head);
        }
        Ok(names)
    }

    /// True when the demo users exist already (a restart keeps their passwords).
    pub async fn demo_users_exist(&self) -> Result<bool, ServiceError> {
        Ok(self.store.user_by_name("clerk").await?.is_some())
    }
}

async fn verify_password(hash: &str, password: &str) -> bool {
    let hash = hash.to_string();
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}
