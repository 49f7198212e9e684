//! `relay scim list|get|create|update|delete`: Braze dashboard users over SCIM, through
//! relay-clients' [`ScimClient`].
//!
//! Settings: `BRAZE_REST_ENDPOINT` (the SCIM base is the REST endpoint; custom hosts need
//! `BRAZE_ALLOW_CUSTOM_ENDPOINT=true`), `BRAZE_SCIM_TOKEN` (or `BRAZE_SCIM_TOKEN_SECRET`) and
//! `BRAZE_SCIM_ORIGIN` (the `X-Request-Origin` registered with the token). SCIM's errors are
//! shown with Braze's `detail` (exit 1). Braze allows 5,000 SCIM requests a day per company;
//! each command makes one request (`update` two: it reads the user, then replaces it).

use relay_clients::braze::BrazeEndpoint;
use relay_clients::braze::scim::{
    AppGroupPermissions, NewScimUser, Permissions, RoleRef, ScimClient, ScimConfig, ScimError,
    ScimName, ScimUser, ScimUserUpdate,
};
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::env::ConfigError;
use serde::Serialize;
use serde_json::json;

use crate::output::table;
use crate::{CliError, Context, Outcome, Settings};

/// The subcommands of `relay scim`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Find dashboard users by email (Braze's SCIM filters by userName only).
    List(ListArgs),
    /// Show one dashboard user.
    Get(IdArgs),
    /// Create a dashboard user (SAML SSO must be set up in Braze first).
    Create(CreateArgs),
    /// Change a dashboard user's name, department or permissions (the email cannot change).
    Update(UpdateArgs),
    /// Delete a dashboard user.
    Delete(IdArgs),
}

/// Arguments of `relay scim list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The email (userName) to look for; required: Braze's SCIM API finds users by userName
    /// (email) only and cannot list them all.
    #[arg(long, value_name = "EMAIL", required = true)]
    filter: String,
}

/// A user id.
#[derive(Debug, clap::Args)]
pub struct IdArgs {
    /// The dashboard user's SCIM id.
    id: String,
}

/// Permission flags, shared by create and update.
#[derive(Debug, Default, clap::Args)]
pub struct PermissionArgs {
    /// The whole SCIM permissions object as JSON (`companyPermissions`, `roles`,
    /// `appGroup`); the flags below add to it.
    #[arg(long, value_name = "JSON")]
    permissions: Option<String>,
    /// A company permission (e.g. `manage_company_settings`); repeatable.
    #[arg(long = "company-permission", value_name = "NAME")]
    company_permissions: Vec<String>,
    /// A role by name; repeatable.
    #[arg(long = "role", value_name = "NAME")]
    roles: Vec<String>,
    /// Permissions in one workspace, as `WORKSPACE=perm1,perm2` (e.g.
    /// `Production=basic_access,send_campaigns_canvases`); repeatable.
    #[arg(long = "workspace", value_name = "NAME=PERMS")]
    workspaces: Vec<String>,
}

/// Arguments of `relay scim create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The user's email (their userName; it cannot change later).
    #[arg(long)]
    email: String,
    /// Given (first) name.
    #[arg(long)]
    given_name: String,
    /// Family (last) name.
    #[arg(long)]
    family_name: String,
    /// Department, free text. Braze requires the field; when not given it is sent empty.
    #[arg(long, default_value = "")]
    department: String,
    #[command(flatten)]
    permissions: PermissionArgs,
}

/// Arguments of `relay scim update`.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// The dashboard user's SCIM id.
    id: String,
    /// New given name.
    #[arg(long)]
    given_name: Option<String>,
    /// New family name.
    #[arg(long)]
    family_name: Option<String>,
    /// New department.
    #[arg(long)]
    department: Option<String>,
    /// Permission flags replace the user's permissions as a whole; without any, they are
    /// kept.
    #[command(flatten)]
    permissions: PermissionArgs,
}

/// A dashboard user as printed.
#[derive(Debug, Serialize)]
struct UserView {
    id: String,
    user_name: String,
    given_name: String,
    family_name: String,
    department: Option<String>,
    created_at: Option<String>,
    last_sign_in_at: Option<String>,
    permissions: Permissions,
}

impl From<ScimUser> for UserView {
    fn from(user: ScimUser) -> UserView {
        UserView {
            id: user.id,
            user_name: user.user_name,
            given_name: user.name.given_name,
            family_name: user.name.family_name,
            department: user.department,
            created_at: user.created_at,
            last_sign_in_at: user.last_sign_in_at,
            permissions: user.permissions,
        }
    }
}

/// Runs one `relay scim` subcommand.
pub async fn run(command: Command, context: &Context) -> Result<Outcome, CliError> {
    // Arguments are checked before any call: a usage error costs no request.
    let update_permissions = match &command {
        Command::Update(args) => {
            let given = permissions(&args.permissions)?;
            if args.given_name.is_none()
                && args.family_name.is_none()
                && args.department.is_none()
                && given.is_none()
            {
                return Err(CliError::usage(
                    "relay scim update: give at least one of --given-name, --family-name, --department or a permission flag",
                ));
            }
            given
        }
        _ => None,
    };
    let client = client(&context.settings).await?;
    match command {
        Command::List(args) => {
            let email = args.filter;
            let found = client.find_by_user_name(&email).await.map_err(failed)?;
            let users: Vec<UserView> = found.into_iter().map(UserView::from).collect();
            let text = if users.is_empty() {
                format!("no dashboard user has the email {email}")
            } else {
                users_table(&users)
            };
            Ok(Outcome::done(&json!({ "users": users }), text))
        }
        Command::Get(args) => {
            let user = UserView::from(client.get(&args.id).await.map_err(failed)?);
            Ok(Outcome::done(&json!({ "user": &user }), user_text(&user)))
        }
        Command::Create(args) => {
            let new_user = NewScimUser {
                user_name: args.email.clone(),
                name: ScimName::new(args.given_name, args.family_name),
                department: args.department,
                permissions: permissions(&args.permissions)?,
            };
            let created = match client.create(&new_user).await.map_err(failed)? {
                Some(user) => user,
                // Created, but the answer was not the user: look it up.
                None => client
                    .find_by_user_name(&args.email)
                    .await
                    .map_err(failed)?
                    .ok_or_else(|| {
                        CliError::failed(
                            "Braze accepted the create, but the user cannot be found yet; run relay scim list --filter EMAIL later",
                        )
                    })?,
            };
            let user = UserView::from(created);
            let text = format!("created\n{}", user_text(&user));
            Ok(Outcome::done(&json!({ "user": &user }), text))
        }
        Command::Update(args) => {
            let current = client.get(&args.id).await.map_err(failed)?;
            let given = update_permissions;
            let update = ScimUserUpdate {
                name: ScimName::new(
                    args.given_name.unwrap_or(current.name.given_name),
                    args.family_name.unwrap_or(current.name.family_name),
                ),
                department: args.department.or(current.department).unwrap_or_default(),
                permissions: given.unwrap_or(current.permissions),
            };
            let updated = match client.replace(&args.id, &update).await.map_err(failed)? {
                Some(user) => user,
                None => client.get(&args.id).await.map_err(failed)?,
            };
            let user = UserView::from(updated);
            let text = format!("updated\n{}", user_text(&user));
            Ok(Outcome::done(&json!({ "user": &user }), text))
        }
        Command::Delete(args) => {
            client.delete(&args.id).await.map_err(failed)?;
            Ok(Outcome::done(
                &json!({ "deleted": &args.id }),
                format!("deleted {}", args.id),
            ))
        }
    }
}

/// The SCIM client from the settings; a missing or unusable setting names its variable.
async fn client(settings: &Settings) -> Result<ScimClient, CliError> {
    let env = settings.env();
    let allow_custom = env.flag("BRAZE_ALLOW_CUSTOM_ENDPOINT")?;
    let endpoint = BrazeEndpoint::parse(settings.required("BRAZE_REST_ENDPOINT")?, allow_custom)
        .map_err(|error| ConfigError::unusable("BRAZE_REST_ENDPOINT", error))?;
    let token = settings
        .secrets()
        .resolve_setting(&env, "BRAZE_SCIM_TOKEN")
        .await?;
    let origin = settings.required("BRAZE_SCIM_ORIGIN")?;
    // The origin is sent as the X-Request-Origin header; the endpoint was checked above, so
    // once the origin is known to be a header value, a client that cannot be built means
    // the token cannot be sent.
    if origin.trim().is_empty() || http::HeaderValue::from_str(origin.trim()).is_err() {
        return Err(CliError::Config(ConfigError::new(
            "BRAZE_SCIM_ORIGIN",
            "is empty or has characters a header (X-Request-Origin) cannot carry",
        )));
    }
    let config = ScimConfig::new(endpoint.base_url(), token, origin);
    ScimClient::new(config, http_client(HttpTimeouts::default()))
        .map_err(|error| CliError::Config(ConfigError::unusable("BRAZE_SCIM_TOKEN", error)))
}

/// A SCIM failure with Braze's `detail` when it gave one (exit 1).
fn failed(error: ScimError) -> CliError {
    match error.detail() {
        Some(detail) => CliError::failed(format!("{error}: {detail}")),
        None => CliError::failed(error.to_string()),
    }
}

/// The permissions the flags give; `None` when no flag was used.
fn permissions(args: &PermissionArgs) -> Result<Option<Permissions>, CliError> {
    let mut permissions = match &args.permissions {
        Some(raw) => serde_json::from_str::<Permissions>(raw)
            .map_err(|error| CliError::usage(format!("--permissions: {error}")))?,
        None if args.company_permissions.is_empty()
            && args.roles.is_empty()
            && args.workspaces.is_empty() =>
        {
            return Ok(None);
        }
        None => Permissions::default(),
    };
    permissions
        .company_permissions
        .extend(args.company_permissions.iter().cloned());
    permissions
        .roles
        .extend(args.roles.iter().map(RoleRef::by_name));
    for workspace in &args.workspaces {
        let (name, list) = workspace.split_once('=').ok_or_else(|| {
            CliError::usage(format!(
                "--workspace {workspace:?}: expected WORKSPACE=perm1,perm2"
            ))
        })?;
        if name.trim().is_empty() {
            return Err(CliError::usage(format!(
                "--workspace {workspace:?}: the workspace name is empty"
            )));
        }
        permissions.app_group.push(AppGroupPermissions {
            app_group_name: Some(name.trim().to_owned()),
            app_group_permissions: list
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            ..AppGroupPermissions::default()
        });
    }
    Ok(Some(permissions))
}

fn users_table(users: &[UserView]) -> String {
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|user| {
            vec![
                user.id.clone(),
                user.user_name.clone(),
                format!("{} {}", user.given_name, user.family_name),
                user.department.clone().unwrap_or_default(),
                user.last_sign_in_at.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &["id", "email", "name", "department", "last sign-in"],
        &rows,
    )
}

fn user_text(user: &UserView) -> String {
    let workspaces: Vec<String> = user
        .permissions
        .app_group
        .iter()
        .map(|group| {
            format!(
                "{}={}",
                group
                    .app_group_name
                    .as_deref()
                    .or(group.app_group_id.as_deref())
                    .unwrap_or("?"),
                group.app_group_permissions.join(",")
            )
        })
        .collect();
    let rows = vec![
        vec!["id".into(), user.id.clone()],
        vec!["email".into(), user.user_name.clone()],
        vec![
            "name".into(),
            format!("{} {}", user.given_name, user.family_name),
        ],
        vec![
            "department".into(),
            user.department.clone().unwrap_or_default(),
        ],
        vec![
            "company permissions".into(),
            user.permissions.company_permissions.join(", "),
        ],
        vec!["workspaces".into(), workspaces.join("; ")],
        vec![
            "created".into(),
            user.created_at.clone().unwrap_or_default(),
        ],
        vec![
            "last sign-in".into(),
            user.last_sign_in_at.clone().unwrap_or_default(),
        ],
    ];
    table(&["field", "value"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_permission_flags_are_given_then_they_build_the_scim_permissions() {
        let args = PermissionArgs {
            permissions: Some(r#"{"companyPermissions":["a"]}"#.into()),
            company_permissions: vec!["b".into()],
            roles: vec!["Marketer".into()],
            workspaces: vec!["Prod=basic_access, send_campaigns_canvases".into()],
        };
        let built = permissions(&args).unwrap().unwrap();
        assert_eq!(built.company_permissions, ["a", "b"]);
        assert_eq!(built.roles[0].role_name.as_deref(), Some("Marketer"));
        assert_eq!(built.app_group[0].app_group_name.as_deref(), Some("Prod"));
        assert_eq!(
            built.app_group[0].app_group_permissions,
            ["basic_access", "send_campaigns_canvases"]
        );
        assert!(permissions(&PermissionArgs::default()).unwrap().is_none());
    }

    #[test]
    fn when_a_workspace_flag_has_no_equals_then_it_is_a_usage_error() {
        let args = PermissionArgs {
            workspaces: vec!["Prod".into()],
            ..PermissionArgs::default()
        };
        let error = permissions(&args).unwrap_err();
        assert!(matches!(error, CliError::Usage(_)), "{error}");
    }
}
