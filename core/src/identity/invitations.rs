//! Inviting a person into a structure: account (created if new), membership, a
//! single-use link to choose a password, and the invitation mail, in French. An
//! existing account is never added without its consent: it is mailed a link to accept
//! (`/compte/invitations/{secret}`, single use, 7 days) and joins only when it does.

use sqlx::AnyConnection;

use crate::identity::{Account, TokenPurpose, valid_email};
use crate::mail::Mailer;
use crate::storage::{Db, StorageError};
use crate::tenancy::{Role, Structure};

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("invalid e-mail address")]
    InvalidEmail,
    #[error("a display name is required")]
    MissingName,
    #[error("already a member of this structure")]
    AlreadyMember,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl InviteError {
    pub fn french(&self) -> &'static str {
        match self {
            InviteError::InvalidEmail => "Adresse électronique invalide.",
            InviteError::MissingName => "Le nom est obligatoire.",
            InviteError::AlreadyMember => "Cette personne fait déjà partie de la structure.",
            InviteError::Storage(_) => "Une erreur inattendue s’est produite.",
        }
    }
}

pub struct Invitation<'a> {
    pub structure: &'a Structure,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    /// None when invited from the command line.
    pub invited_by: Option<&'a Account>,
}

/// Invites; returns the account and the link to set a password. For an account that
/// already exists the link is None: it was mailed an invitation to accept, and the
/// membership is made only once it accepts (`Db::accept_membership_offer`). On its own
/// transaction; an audited action uses [`invite_in`].
pub async fn invite(
    db: &Db,
    mailer: &Mailer,
    public_url: &str,
    invitation: Invitation<'_>,
) -> Result<(Account, Option<String>), InviteError> {
    let mut tx = db.begin_write().await?;
    let invited = invite_in(&mut tx, db, public_url, invitation).await?;
    tx.commit().await.map_err(StorageError::from)?;
    mailer.wake();
    Ok(invited)
}

/// [`invite`] in the caller's write transaction (`Db::begin_write`), which also writes
/// the audit entry: the account, membership, link or offer and the queued mail exist
/// only if it commits. The caller wakes the sender (`Mailer::wake`) after the commit.
/// A refusal (`InvalidEmail`, `MissingName`, `AlreadyMember`) is returned before any
/// write.
pub async fn invite_in(
    conn: &mut AnyConnection,
    db: &Db,
    public_url: &str,
    invitation: Invitation<'_>,
) -> Result<(Account, Option<String>), InviteError> {
    let email = invitation.email.trim();
    if !valid_email(email) {
        return Err(InviteError::InvalidEmail);
    }
    let existing = db.account_by_login_in(conn, email).await?;
    if let Some(account) = &existing
        && db
            .member_in(conn, invitation.structure.id, account.id)
            .await?
            .is_some()
    {
        return Err(InviteError::AlreadyMember);
    }
    let inviter = invitation
        .invited_by
        .map(|a| a.display_name.as_str())
        .unwrap_or("L’équipe Maillage");
    let structure = &invitation.structure.name;
    if let Some(account) = existing {
        // Consent first: the account is mailed a link and joins only if it accepts. The
        // inviter learns nothing about it (not even its name).
        let secret = db
            .issue_membership_offer_in(
                conn,
                account.id,
                invitation.structure.id,
                invitation.role,
                invitation.invited_by.map(|a| a.id),
            )
            .await?;
        let no_password_yet = if account.active {
            ""
        } else {
            "Vous n’avez pas encore choisi de mot de passe : utilisez d’abord « Mot de passe oublié » sur la page de connexion.\n\n"
        };
        let body = format!(
            "Bonjour {},\n\n{inviter} vous invite à rejoindre {structure} sur Maillage, avec le rôle « {} ».\n\nVous n’en ferez partie que si vous acceptez. Pour accepter, ouvrez ce lien et connectez-vous avec votre compte habituel (lien valable 7 jours, utilisable une seule fois) :\n{public_url}/compte/invitations/{secret}\n\n{no_password_yet}Si vous ne souhaitez pas rejoindre cette structure, ignorez simplement ce message.\n\nÀ bientôt sur Maillage.\n",
            account.display_name,
            invitation.role.label()
        );
        db.enqueue_mail_in(
            conn,
            Some(invitation.structure.id),
            &account.email,
            &format!("Invitation à rejoindre {structure} sur Maillage"),
            &body,
        )
        .await?;
        tracing::info!(
            account = account.id,
            structure = invitation.structure.id,
            "existing account invited: membership waits for its consent"
        );
        return Ok((account, None));
    }
    if invitation.display_name.trim().is_empty() {
        return Err(InviteError::MissingName);
    }
    let account = db
        .create_account_in(conn, email, None, invitation.display_name)
        .await?;
    db.set_membership_in(conn, invitation.structure.id, account.id, invitation.role)
        .await?;
    let secret = db
        .issue_token_in(conn, account.id, TokenPurpose::Invitation)
        .await?;
    let link = format!("{public_url}/mot-de-passe/{secret}");
    let body = format!(
        "Bonjour {},\n\n{inviter} vous invite à rejoindre {structure} sur Maillage.\n\nPour choisir votre mot de passe, ouvrez ce lien (valable 7 jours, utilisable une seule fois) :\n{link}\n\nVotre identifiant de connexion est votre adresse : {}\n\nÀ bientôt sur Maillage.\n",
        account.display_name, account.email
    );
    db.enqueue_mail_in(
        conn,
        Some(invitation.structure.id),
        &account.email,
        &format!("Invitation à rejoindre {structure} sur Maillage"),
        &body,
    )
    .await?;
    Ok((account, Some(link)))
}

/// Sends a fresh invitation link to a member who has not set a password yet.
pub async fn resend(
    db: &Db,
    mailer: &Mailer,
    public_url: &str,
    structure: &Structure,
    account: &Account,
) -> Result<String, StorageError> {
    let mut tx = db.begin_write().await?;
    let link = resend_in(&mut tx, db, public_url, structure, account).await?;
    tx.commit().await?;
    mailer.wake();
    Ok(link)
}

/// [`resend`] in the caller's transaction (with its audit entry); the caller wakes the
/// sender (`Mailer::wake`) after the commit.
pub async fn resend_in(
    conn: &mut AnyConnection,
    db: &Db,
    public_url: &str,
    structure: &Structure,
    account: &Account,
) -> Result<String, StorageError> {
    let secret = db
        .issue_token_in(conn, account.id, TokenPurpose::Invitation)
        .await?;
    let link = format!("{public_url}/mot-de-passe/{secret}");
    let body = format!(
        "Bonjour {},\n\nVoici un nouveau lien pour rejoindre {} sur Maillage et choisir votre mot de passe (valable 7 jours) :\n{link}\n\nÀ bientôt sur Maillage.\n",
        account.display_name, structure.name
    );
    db.enqueue_mail_in(
        conn,
        Some(structure.id),
        &account.email,
        &format!("Invitation à rejoindre {} sur Maillage", structure.name),
        &body,
    )
    .await?;
    Ok(link)
}

/// "Mot de passe oublié": mails a one-hour link if the login exists; silent otherwise.
pub async fn request_reset(
    db: &Db,
    mailer: &Mailer,
    public_url: &str,
    login: &str,
) -> Result<(), StorageError> {
    let Some(account) = db.account_by_login(login).await? else {
        tracing::info!("password reset asked for an unknown login");
        return Ok(());
    };
    let secret = db.issue_token(account.id, TokenPurpose::Reset).await?;
    let body = format!(
        "Bonjour {},\n\nUne demande de réinitialisation de votre mot de passe Maillage a été faite.\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valable 1 heure, utilisable une seule fois) :\n{public_url}/mot-de-passe/{secret}\n\nSi vous n’êtes pas à l’origine de cette demande, ignorez ce message : votre mot de passe reste inchangé.\n",
        account.display_name
    );
    mailer
        .enqueue(
            None,
            &account.email,
            "Réinitialisation de votre mot de passe Maillage",
            &body,
        )
        .await?;
    Ok(())
}
