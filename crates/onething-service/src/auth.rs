//! Users, roles and sessions: Argon2id password hashes (computed a few at a time, so that a burst of sign-ins
//! cannot exhaust memory), random bearer tokens stored only as their SHA-256, with an expiry and a revocation
//! that every node sees because it is in the store. Demo users for `serve --demo`.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use onething_store::{Changeset, Revocation, TokenRow, UserRow, UserWrite};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::errors::{AccountError, AuthError, BadInput, ErrorCode};
use crate::events::{Event, ServiceEvent, UserState};
use crate::{Service, new_id};

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
    /// 调解员: takes hotline work orders about company registration and runs mediation cases.
    Mediator,
}

impl Role {
    pub const ALL: [Role; 7] =
        [Role::Applicant, Role::Clerk, Role::Officer, Role::Supervisor, Role::Admin, Role::Head, Role::Mediator];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::Clerk => "clerk",
            Role::Officer => "officer",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::Head => "head",
            Role::Mediator => "mediator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A signed-in user.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub department: Option<String>,
    /// The password was reset by someone else: it must be changed before anything else.
    pub must_change_password: bool,
}

impl User {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Clerks, supervisors and administrators read every case.
    pub fn reads_all(&self) -> bool {
        self.has(Role::Supervisor) || self.has(Role::Admin) || self.has(Role::Clerk)
    }

    /// The system acting as a supervisor (reports from the command line, demo data).
    pub fn system_supervisor() -> User {
        User {
            id: "system".into(),
            username: "system".into(),
            display_name: "系统".into(),
            roles: vec![Role::Supervisor, Role::Admin],
            department: None,
            must_change_password: false,
        }
    }

    pub(crate) fn from_row(row: &UserRow) -> User {
        User {
            id: row.id.clone(),
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            roles: row.roles.iter().filter_map(|r| Role::parse(r)).collect(),
            department: row.department.clone(),
            must_change_password: row.must_change_password,
        }
    }
}

/// What a new account is (the password arrives in clear and is hashed here).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub roles: Vec<Role>,
    pub department: Option<String>,
    pub must_change_password: bool,
}

fn argon2() -> Argon2<'static> {
    // The OWASP minimum for Argon2id (19 MiB, 2 passes); the same parameters in tests, so what is tested is
    // what runs.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// The memory one password check takes, in bytes (for sizing the number run at once).
pub const HASH_MEMORY_BYTES: u64 = 19 * 1024 * 1024;

fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("no randomness: {e}"))?;
    Ok(onething_store::hex(&buf))
}

/// A random password for demo users.
pub fn random_password() -> Result<String, String> {
    random_hex(8)
}

pub(crate) fn token_hash(token: &str) -> String {
    onething_store::hex(&Sha256::digest(token.as_bytes()))
}

/// The kinds of token.
pub(crate) const SESSION: &str = "session";
pub(crate) const API: &str = "api";

impl Service {
    /// Hashes a password on a blocking thread, no more than the configured number at once.
    async fn hash_password(&self, password: &str) -> Result<String, String> {
        let _permit = self.hashing.acquire().await.map_err(|e| e.to_string())?;
        let password = password.to_string();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::encode_b64(&random_hex(16)?.into_bytes()[..16]).map_err(|e| e.to_string())?;
            argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Checks a password against a hash, no more than the configured number at once.
    async fn check_password(&self, hash: &str, password: &str) -> bool {
        let Ok(_permit) = self.hashing.acquire().await else { return false };
        let hash = hash.to_string();
        let password = password.to_string();
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .unwrap_or(false)
    }

    /// Creates an account with one `user_created` event. A taken username is [`AccountError::Duplicate`].
    pub async fn create_user(&self, actor: &str, new: NewUser) -> Result<User, AccountError> {
        let username = new.username.trim().to_string();
        if username.is_empty() || username.chars().count() > 64 || username.chars().any(char::is_whitespace) {
            return Err(
                BadInput::new(ErrorCode::BadUser, "username", "a username has 1 to 64 characters, no spaces").into()
            );
        }
        if new.password.chars().count() < 8 {
            return Err(
                BadInput::new(ErrorCode::WeakPassword, "password", "a password needs 8 or more characters").into()
            );
        }
        let hash = self.hash_password(&new.password).await.map_err(AccountError::Internal)?;
        let now = self.now();
        let display_name = if new.display_name.trim().is_empty() { username.clone() } else { new.display_name };
        let row = UserRow {
            id: new_id(),
            username,
            display_name,
            password_hash: hash,
            roles: new.roles.iter().map(|r| r.as_str().to_string()).collect(),
            department: new.department,
            disabled: false,
            must_change_password: new.must_change_password,
            id_number: None,
            external_id: None,
            profile: "{}".into(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let event = Event::from(ServiceEvent::UserCreated { user: UserState::of(&row) })
            .to_new(None, actor, now)
            .map_err(AccountError::Internal)?;
        let change = Changeset {
            users: vec![UserWrite { row: row.clone(), expected_version: None }],
            event: Some(event),
            ..Changeset::default()
        };
        match self.store.commit(change).await {
            Ok(_) => Ok(User::from_row(&row)),
            Err(onething_store::StoreError::Duplicate { what }) => {
                Err(AccountError::Duplicate(format!("{what} is taken")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Creates a user, or sets the password, roles and department of the one of that name (demo seeding and
    /// fixtures), with its event.
    pub async fn save_user(
        &self,
        username: &str,
        password: &str,
        roles: &[Role],
        department: Option<&str>,
    ) -> Result<User, AccountError> {
        let Some(existing) = self.store.user_by_name(username).await? else {
            let new = NewUser {
                username: username.to_string(),
                display_name: username.to_string(),
                password: password.to_string(),
                roles: roles.to_vec(),
                department: department.map(str::to_string),
                must_change_password: false,
            };
            return self.create_user("system", new).await;
        };
        let hash = self.hash_password(password).await.map_err(AccountError::Internal)?;
        let row = UserRow {
            password_hash: hash,
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            department: department.map(str::to_string),
            updated_at: self.now(),
            ..existing.clone()
        };
        let changed = vec!["password".to_string(), "roles".to_string(), "department".to_string()];
        self.write_user(existing.version, row, changed, "system", Vec::new()).await
    }

    /// Writes an account over the version it was read at, with its `user_changed` event and any revocations.
    pub(crate) async fn write_user(
        &self,
        read: i64,
        row: UserRow,
        changed: Vec<String>,
        actor: &str,
        revocations: Vec<Revocation>,
    ) -> Result<User, AccountError> {
        let now = self.now();
        let event = Event::from(ServiceEvent::UserChanged { user: UserState::of(&row), changed })
            .to_new(None, actor, now)
            .map_err(AccountError::Internal)?;
        let change = Changeset {
            users: vec![UserWrite { row: row.clone(), expected_version: Some(read) }],
            revocations,
            event: Some(event),
            ..Changeset::default()
        };
        match self.store.commit(change).await {
            Ok(_) => Ok(User::from_row(&row)),
            Err(onething_store::StoreError::Conflict { .. }) => Err(AccountError::Conflict),
            Err(onething_store::StoreError::Duplicate { what }) => {
                Err(AccountError::Duplicate(format!("{what} is taken")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Signs in: checks the password and issues a bearer token (returned once, stored hashed). A web session
    /// (`web`) lives as long as the configured session lifetime, an API token as long as the token lifetime.
    pub async fn login(&self, username: &str, password: &str) -> Result<(String, User), AuthError> {
        self.sign_in(username, password, API).await
    }

    /// Signs in for a web session.
    pub async fn login_web(&self, username: &str, password: &str) -> Result<(String, User), AuthError> {
        self.sign_in(username, password, SESSION).await
    }

    async fn sign_in(&self, username: &str, password: &str, kind: &str) -> Result<(String, User), AuthError> {
        if username.len() > 256 || password.len() > 1024 {
            return Err(AuthError::BadCredentials);
        }
        let row = self.store.user_by_name(username).await?;
        let Some(row) = row.filter(|r| !r.disabled && !r.password_hash.is_empty()) else {
            // Spend the same work as a real check, so a missing user is not told apart by timing.
            let _ = self
                .check_password(
                    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000",
                    password,
                )
                .await;
            return Err(AuthError::BadCredentials);
        };
        if !self.check_password(&row.password_hash, password).await {
            return Err(AuthError::BadCredentials);
        }
        let token = self.issue_token(&row, kind).await?;
        Ok((token, User::from_row(&row)))
    }

    /// Issues a token of `kind` for an account, with its `session_created` event.
    pub(crate) async fn issue_token(&self, row: &UserRow, kind: &str) -> Result<String, AuthError> {
        let token = random_hex(32).map_err(AuthError::Internal)?;
        let now = self.now();
        let ttl = if kind == SESSION { self.config.session_ttl } else { self.config.token_ttl };
        let expires_at = now.checked_add(ttl).map_err(|e| AuthError::Internal(e.to_string()))?;
        let event = Event::from(ServiceEvent::SessionCreated { user_id: row.id.clone(), kind: kind.to_string() })
            .to_new(None, &row.id, now)
            .map_err(AuthError::Internal)?;
        let tokens = vec![TokenRow {
            token_hash: token_hash(&token),
            user_id: row.id.clone(),
            kind: kind.to_string(),
            created_at: now,
            expires_at,
            revoked_at: None,
        }];
        self.store.commit(Changeset { tokens, event: Some(event), ..Changeset::default() }).await?;
        Ok(token)
    }

    /// The user of a token, if it exists, has not expired, was not revoked and its account is not disabled.
    pub async fn authenticate(&self, token: &str) -> Result<User, AuthError> {
        if token.is_empty() || token.len() > 256 {
            return Err(AuthError::Unauthenticated);
        }
        match self.store.token(&token_hash(token)).await? {
            Some((t, u)) if t.expires_at > self.now() && t.revoked_at.is_none() && !u.disabled => {
                Ok(User::from_row(&u))
            }
            _ => Err(AuthError::Unauthenticated),
        }
    }

    /// Signs a token out: it stops working at once, on every node (the revocation is in the store), with a
    /// `session_revoked` event. An unknown or revoked token is already out.
    pub async fn logout(&self, token: &str) -> Result<(), AuthError> {
        let hash = token_hash(token);
        let Some((row, user)) = self.store.token(&hash).await? else { return Ok(()) };
        if row.revoked_at.is_some() {
            return Ok(());
        }
        let now = self.now();
        let event = Event::from(ServiceEvent::SessionRevoked { user_id: user.id.clone(), reason: "sign_out".into() })
            .to_new(None, &user.id, now)
            .map_err(AuthError::Internal)?;
        let change = Changeset {
            revocations: vec![Revocation::Token { token_hash: hash, at: now }],
            event: Some(event),
            ..Changeset::default()
        };
        self.store.commit(change).await?;
        Ok(())
    }

    /// Creates the demo users — `applicant`, `clerk`, `supervisor`, `admin`, `mediator`, and `officer-<d>` and
    /// `head-<d>` for every department — with one password. Returns their names.
    pub async fn seed_demo_users(&self, password: &str) -> Result<Vec<String>, AccountError> {
        let mut names = Vec::new();
        for (name, role) in [
            ("applicant", Role::Applicant),
            ("clerk", Role::Clerk),
            ("supervisor", Role::Supervisor),
            ("admin", Role::Admin),
            ("mediator", Role::Mediator),
        ] {
            self.save_user(name, password, &[role], None).await?;
            names.push(name.to_string());
        }
        let departments: Vec<String> = self.catalog().departments.keys().cloned().collect();
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
    pub async fn demo_users_exist(&self) -> Result<bool, AccountError> {
        Ok(self.store.user_by_name("clerk").await?.is_some())
    }
}
