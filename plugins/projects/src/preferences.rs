//! The member's notification choices, « Mes notifications » (`GET|POST /preferences`,
//! docs/projects-contract.md, « Threads »): a mail when someone mentions them in a
//! thread (`mention_mail`, on by default; [`crate::discussion`] asks
//! [`without_mention_mail`]) and the daily digest of the unread messages of their
//! projects (`digest`, off by default; turning it on schedules the digest timer,
//! [`crate::digest`]). A member who never saved the form has no record: the defaults.

use std::collections::HashSet;

use maillage_sdk::Response;
use maillage_sdk::form::Form;
use maillage_sdk::html::{alert, csrf_field, href, html};
use maillage_sdk::records::{self, Query, StoreError};
use serde::Deserialize;
use serde_json::json;

use crate::model::PREFERENCES;
use crate::ui::{self, PageResult};

const SIGN_IN: &str = "Veuillez vous connecter.";
const BAD_CHOICE: &str =
    "Ce choix est illisible : cochez ou décochez chaque case, puis enregistrez.";

/// One member's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    /// « Vous a mentionné(e) » mails.
    pub mention_mail: bool,
    /// « Résumé quotidien des discussions ».
    pub digest: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            mention_mail: true,
            digest: false,
        }
    }
}

#[derive(Deserialize)]
struct Stored {
    #[serde(default)]
    mention_mail: Option<bool>,
    #[serde(default)]
    digest: Option<bool>,
}

#[derive(Deserialize)]
struct UserRow {
    user: String,
}

/// The choices of member `user_id` (the defaults when they never saved any).
pub fn of(user_id: &str) -> Result<Preferences, StoreError> {
    let defaults = Preferences::default();
    let stored = Query::new()
        .filter("user = {:u}")
        .param("u", user_id)
        .first::<Stored>(PREFERENCES)?;
    Ok(match stored {
        Some(s) => Preferences {
            mention_mail: s.mention_mail.unwrap_or(defaults.mention_mail),
            digest: s.digest.unwrap_or(defaults.digest),
        },
        None => defaults,
    })
}

/// Of `users` (account ids), those who turned mention mails off.
pub fn without_mention_mail(users: &[String]) -> Result<HashSet<String>, StoreError> {
    let mut off = HashSet::new();
    // The host takes at most 1000 values in a list.
    for chunk in users.chunks(500) {
        let rows: Vec<UserRow> = Query::new()
            .filter("user in {:u} && mention_mail = false")
            .param("u", chunk)
            .fields(&["user"])
            .fetch_all(PREFERENCES, chunk.len())?;
        off.extend(rows.into_iter().map(|r| r.user));
    }
    Ok(off)
}

/// A checkbox after its hidden `0` (the last value wins): `1` on, `0` or nothing off;
/// none for anything else.
pub fn checkbox(values: &[String]) -> Option<bool> {
    match values.last().map(String::as_str) {
        None | Some("0") => Some(false),
        Some("1") => Some(true),
        Some(_) => None,
    }
}

fn form_page(p: &Preferences, hour: u8, error: Option<&str>, query: &str) -> Response {
    let saved = ui::param(query, "ok") == "preferences";
    let body = html! {
        (ui::head())
        h1 { "Mes notifications" }
        (maillage_sdk::html::notice(saved.then_some("Vos choix de notification sont enregistrés.")))
        (alert(error))
        form class="preferences stack" method="post" action=(href("/preferences")) {
            (csrf_field())
            fieldset {
                legend { "Courriels des discussions de vos projets" }
                input type="hidden" name="mention_mail" value="0";
                label {
                    input type="checkbox" name="mention_mail" value="1" checked[p.mention_mail];
                    " Recevoir un courriel quand quelqu’un vous mentionne dans une discussion"
                }
                input type="hidden" name="digest" value="0";
                label {
                    input type="checkbox" name="digest" value="1" checked[p.digest];
                    " Résumé quotidien des discussions"
                }
                p class="muted" {
                    "Chaque jour vers " (hour) " h, un courriel liste les projets où des "
                    "messages des dernières 24 heures vous attendent : le nom du projet, le "
                    "nombre de messages et leurs auteurs, jamais leur texte. Rien n’est "
                    "envoyé quand vous avez tout lu."
                }
            }
            button type="submit" { "Enregistrer" }
        }
        p { a href=(href("/mes-projets")) { "Mes projets" } }
    };
    let response = Response::page("Mes notifications", body);
    if error.is_some() {
        response.with_status(422)
    } else {
        response
    }
}

/// `GET /preferences` « Mes notifications » (every member, for themselves).
pub fn page(query: &str) -> PageResult {
    let Some(user) = maillage_sdk::context().user else {
        return ui::forbidden(SIGN_IN);
    };
    let choices = of(&user.id)?;
    let hour = crate::settings::digest_hour()?;
    Ok(form_page(&choices, hour, None, query))
}

/// `POST /preferences`: `mention_mail`, `digest` (hidden `0` + checkbox `1`). With the
/// digest on, the digest timer is scheduled if none is pending.
pub fn save(form: &Form) -> PageResult {
    let Some(user) = maillage_sdk::context().user else {
        return ui::forbidden(SIGN_IN);
    };
    let (Some(mention_mail), Some(digest)) = (
        checkbox(&form.all("mention_mail")),
        checkbox(&form.all("digest")),
    ) else {
        let current = of(&user.id)?;
        let hour = crate::settings::digest_hour()?;
        return Ok(form_page(&current, hour, Some(BAD_CHOICE), ""));
    };
    records::upsert::<_, serde_json::Value>(
        PREFERENCES,
        &["user"],
        &json!({ "user": user.id, "mention_mail": mention_mail, "digest": digest }),
    )?;
    if digest {
        crate::digest::ensure_scheduled()?;
    }
    Ok(Response::see_other("/preferences?ok=preferences"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_mail_mentions_and_no_digest() {
        let d = Preferences::default();
        assert!(d.mention_mail);
        assert!(!d.digest);
    }

    #[test]
    fn a_checkbox_is_its_last_value_after_the_hidden_zero() {
        assert_eq!(checkbox(&values(&["0", "1"])), Some(true));
        assert_eq!(checkbox(&values(&["0"])), Some(false));
        assert_eq!(checkbox(&values(&[])), Some(false));
        assert_eq!(checkbox(&values(&["1"])), Some(true));
        assert_eq!(checkbox(&values(&["0", "oui"])), None);
        assert_eq!(checkbox(&values(&["2"])), None);
    }
}
