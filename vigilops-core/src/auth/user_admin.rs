//! User administration (`rest-api.md` §15): list, create with a role, change name, role and
//! activity, delete, reset a password; each audited. The last active admin can never be
//! demoted, deactivated or deleted (decided atomically by the store), nobody deletes their own
//! account, and the original's demo account cannot be changed.

use std::sync::Arc;

use serde_json::json;

use super::password;
use super::service::{check_new_password, normalize_email};
use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::model::{NewUser, Page, Role, User, UserUpdate};
use crate::protocol::rest::{PageOf, UserView};
use crate::store::{Store, StoreError};

/// The original's demo account, which cannot be edited, deleted or have its password reset.
pub const DEMO_ACCOUNT: &str = "demo@vigilops.io";

/// What can go wrong administering users.
#[derive(Debug, thiserror::Error)]
pub enum UserAdminError {
    #[error("User not found")]
    NotFound,
    /// 409.
    #[error("Email already registered")]
    EmailTaken,
    /// 400, as the original answers a bad role.
    #[error("Invalid role: {0} (admin, operator or viewer)")]
    InvalidRole(String),
    /// 400.
    #[error("You cannot delete your own account")]
    DeleteSelf,
    /// 400.
    #[error("The last active admin cannot be demoted, deactivated or deleted")]
    LastAdmin,
    /// 403.
    #[error("The demo account cannot be changed")]
    DemoAccount,
    /// 422, naming the field.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
    #[error(transparent)]
    Hash(#[from] password::HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<super::AuthError> for UserAdminError {
    fn from(error: super::AuthError) -> Self {
        match error {
            super::AuthError::Invalid { field, message } => Self::Invalid { field, message },
            super::AuthError::Store(error) => Self::Store(error),
            super::AuthError::Hash(error) => Self::Hash(error),
            // The validators used here only ever refuse a field.
            _ => Self::Invalid {
                field: "body",
                message: "is invalid",
            },
        }
    }
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct CreateUser {
    pub email: String,
    pub name: String,
    pub password: String,
    /// `viewer` when not given.
    pub role: Option<String>,
}

/// Changes to a user.
#[derive(Debug, Clone, Default)]
pub struct ChangeUser {
    pub name: Option<String>,
    pub role: Option<String>,
    pub is_active: Option<bool>,
}

/// User administration.
#[derive(Debug, Clone)]
pub struct UserAdmin {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl UserAdmin {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// A page of users by id.
    pub async fn list(&self, page: Page) -> Result<PageOf<UserView>, UserAdminError> {
        let (users, total) = self.store.list_users(page).await?;
        Ok(PageOf {
            items: users.into_iter().map(UserView::from).collect(),
            total,
            page: page.page,
            page_size: page.page_size,
        })
    }

    /// One user.
    pub async fn get(&self, id: i64) -> Result<UserView, UserAdminError> {
        Ok(UserView::from(self.user(id).await?))
    }

    /// Creates a user with a role (default viewer).
    pub async fn create(
        &self,
        request: CreateUser,
        actor: &Actor,
    ) -> Result<UserView, UserAdminError> {
        let email = normalize_email(&request.email)?;
        check_new_password(&request.password)?;
        let name = checked_name(&request.name)?;
        let role = parse_role(request.role.as_deref().unwrap_or("viewer"))?;
        let password_hash = password::hash_password(&request.password)?;
        let user = self
            .store
            .create_user(
                NewUser {
                    email,
                    name,
                    password_hash,
                    role,
                },
                self.clock.now(),
            )
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => UserAdminError::EmailTaken,
                other => UserAdminError::Store(other),
            })?;
        self.audit(
            actor,
            "create_user",
            &user,
            json!({"email": user.email, "role": user.role.as_str()}),
        )
        .await?;
        Ok(UserView::from(user))
    }

    /// Changes a user's name, role or activity.
    pub async fn update(
        &self,
        id: i64,
        change: ChangeUser,
        actor: &Actor,
    ) -> Result<UserView, UserAdminError> {
        let current = self.user(id).await?;
        refuse_demo(&current)?;
        let update = UserUpdate {
            name: change.name.as_deref().map(checked_name).transpose()?,
            role: change.role.as_deref().map(parse_role).transpose()?,
            is_active: change.is_active,
        };
        let detail = json!({
            "name": update.name,
            "role": update.role.map(Role::as_str),
            "is_active": update.is_active,
        });
        let user = self
            .store
            .update_user(id, update, self.clock.now())
            .await
            .map_err(guarded)?;
        self.audit(actor, "update_user", &user, detail).await?;
        Ok(UserView::from(user))
    }

    /// Deletes a user; never oneself, never the last active admin.
    pub async fn delete(&self, id: i64, actor: &Actor) -> Result<(), UserAdminError> {
        let user = self.user(id).await?;
        refuse_demo(&user)?;
        if actor.user_id == Some(id) {
            return Err(UserAdminError::DeleteSelf);
        }
        self.store.delete_user(id).await.map_err(guarded)?;
        self.audit(actor, "delete_user", &user, json!({"email": user.email}))
            .await?;
        Ok(())
    }

    /// Sets a new password (8 to 128 characters), stored as a hash only.
    pub async fn reset_password(
        &self,
        id: i64,
        new_password: &str,
        actor: &Actor,
    ) -> Result<(), UserAdminError> {
        let user = self.user(id).await?;
        refuse_demo(&user)?;
        check_new_password(new_password).map_err(|_| UserAdminError::Invalid {
            field: "new_password",
            message: "password must have 8 to 128 characters",
        })?;
        let hash = password::hash_password(new_password)?;
        self.store
            .set_password_hash(id, &hash, self.clock.now())
            .await
            .map_err(guarded)?;
        self.audit(actor, "reset_password", &user, json!({}))
            .await?;
        Ok(())
    }

    async fn user(&self, id: i64) -> Result<User, UserAdminError> {
        self.store
            .user_by_id(id)
            .await?
            .ok_or(UserAdminError::NotFound)
    }

    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        user: &User,
        detail: serde_json::Value,
    ) -> Result<(), UserAdminError> {
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            action,
            "user",
            Some(user.id.to_string()),
            Some(detail),
        )
        .await?;
        Ok(())
    }
}

fn guarded(error: StoreError) -> UserAdminError {
    match error {
        StoreError::NotFound(_) => UserAdminError::NotFound,
        StoreError::Conflict(_) => UserAdminError::LastAdmin,
        other => UserAdminError::Store(other),
    }
}

fn refuse_demo(user: &User) -> Result<(), UserAdminError> {
    if user.email.eq_ignore_ascii_case(DEMO_ACCOUNT) {
        return Err(UserAdminError::DemoAccount);
    }
    Ok(())
}

fn checked_name(name: &str) -> Result<String, UserAdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(UserAdminError::Invalid {
            field: "name",
            message: "name must have 1 to 100 characters",
        });
    }
    Ok(name.to_owned())
}

fn parse_role(role: &str) -> Result<Role, UserAdminError> {
    match role.trim() {
        "admin" => Ok(Role::Admin),
        "operator" => Ok(Role::Operator),
        "viewer" => Ok(Role::Viewer),
        other => Err(UserAdminError::InvalidRole(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_strictly() {
        assert!(matches!(parse_role("operator"), Ok(Role::Operator)));
        assert!(matches!(parse_role(" admin "), Ok(Role::Admin)));
        for bad in ["root", "Admin", ""] {
            assert!(matches!(
                parse_role(bad),
                Err(UserAdminError::InvalidRole(_))
            ));
        }
    }
}
