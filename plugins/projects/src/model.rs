//! The module's collections, its records, the missions of the projet de santé, and who
//! may do what (docs/projects-contract.md, « Who »).

use maillage_sdk::User;
use maillage_sdk::groups::{self, Group, GroupMember, GroupRole};
use maillage_sdk::records::{
    self, CollectionDef, FieldDef, FieldType, Query, StoreError, field, index, integer, or_default,
    required, text, with_default,
};
use serde::Deserialize;

pub const MISSIONS: &str = "missions";
pub const PROJECTS: &str = "projects";
pub const ACTIONS: &str = "actions";
pub const TASKS: &str = "tasks";
pub const ASSIGNEES: &str = "task_assignees";
pub const ENTRIES: &str = "time_entries";
pub const ANNOUNCEMENTS: &str = "announcements";
pub const GROUP_MAILS: &str = "group_mails";
pub const PREFERENCES: &str = "preferences";
pub const DIGEST_SENDS: &str = "digest_sends";
pub const SETTINGS: &str = "settings";
/// The copy of the agenda's meetings of groups (`crate::meetings`).
pub const GROUP_MEETINGS: &str = "group_meetings";
/// The copy of the cloud's documents of groups (`crate::documents`).
pub const GROUP_DOCUMENTS: &str = "group_documents";

/// `tasks.status`.
pub const TODO: &str = "a_faire";
pub const DONE: &str = "faite";
/// `due_sort` of a task with no due date (sorts last on every backend).
pub const NO_DUE: &str = "9999-12-31";

pub const MAX_TITLE: usize = 200;
pub const MAX_TEXT: usize = 10_000;
pub const MAX_DESCRIPTION: usize = 5000;
pub const MAX_NOTE: usize = 500;
pub const MAX_NUMERO: usize = 20;
pub const MAX_ASSIGNEES: usize = 20;
pub const MAX_MISSION_LABEL: usize = 80;
/// Most minutes one entry, and one person's day, may hold.
pub const DAY_MINUTES: i64 = 24 * 60;
/// Most records a page reads of one kind.
pub const PAGE_MAX: usize = 5000;

/// The six standard missions: code, default label; 1 to 4 are mandatory.
pub const DEFAULT_MISSIONS: [(&str, &str); 6] = [
    ("1", "Accès aux soins"),
    ("2", "Parcours pluriprofessionnels"),
    ("3", "Prévention"),
    ("4", "Gestion de crise"),
    ("5", "Qualité et pertinence des soins"),
    ("6", "Accompagnement des professionnels de santé"),
];

pub fn mandatory(code: &str) -> bool {
    matches!(code, "1" | "2" | "3" | "4")
}

/// Action statuses: code, label.
pub const ACTION_STATUSES: [(&str, &str); 4] = [
    ("a_venir", "À venir"),
    ("en_cours", "En cours"),
    ("realisee", "Réalisée"),
    ("abandonnee", "Abandonnée"),
];

pub fn action_status_label(code: &str) -> &'static str {
    ACTION_STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("")
}

pub fn collections() -> Vec<CollectionDef> {
    let full_text = |f: FieldDef| FieldDef {
        full_text: true,
        ..f
    };
    let boolean =
        |name: &str, default: &str| with_default(field(name, FieldType::Boolean), default);
    let project_ref = || FieldDef {
        required: true,
        references: Some(PROJECTS.into()),
        ..field("project", FieldType::RecordRef)
    };
    let task_ref = || FieldDef {
        required: true,
        references: Some(TASKS.into()),
        ..field("task", FieldType::RecordRef)
    };
    vec![
        CollectionDef {
            name: MISSIONS.into(),
            fields: vec![
                required(text("code")),
                required(text("label")),
                text("description"),
                boolean("active", "true"),
            ],
            indexes: vec![index(&["code"], true)],
        },
        CollectionDef {
            name: PROJECTS.into(),
            fields: vec![
                required(field("group_id", FieldType::GroupRef)),
                full_text(text("name")),
                text("numero"),
                required(text("mission")),
                full_text(text("description")),
                full_text(text("objectives")),
                required(field("start_date", FieldType::Date)),
                field("end_date", FieldType::Date),
                field("coordinator", FieldType::UserRef),
                text("coordinator_name"),
                field("created_by", FieldType::UserRef),
                text("created_by_name"),
                with_default(integer("revision"), "1"),
            ],
            indexes: vec![
                index(&["group_id"], true),
                index(&["numero"], true),
                index(&["mission", "numero"], false),
            ],
        },
        CollectionDef {
            name: ACTIONS.into(),
            fields: vec![
                project_ref(),
                text("numero"),
                required(full_text(text("title"))),
                text("description"),
                integer("year"),
                with_default(text("status"), "\"a_venir\""),
                with_default(integer("position"), "0"),
            ],
            indexes: vec![index(&["project", "position"], false)],
        },
        CollectionDef {
            name: TASKS.into(),
            fields: vec![
                project_ref(),
                required(field("group_id", FieldType::GroupRef)),
                text("action"),
                required(full_text(text("title"))),
                full_text(text("description")),
                field("due_date", FieldType::Date),
                required(text("due_sort")),
                with_default(text("status"), "\"a_faire\""),
                integer("done_at"),
                field("done_by", FieldType::UserRef),
                text("done_by_name"),
                text("recurrence_unit"),
                integer("recurrence_every"),
                integer("recurrence_anchor"),
                text("series"),
                with_default(integer("occurrence"), "1"),
                field("created_by", FieldType::UserRef),
                text("created_by_name"),
                with_default(integer("minutes"), "0"),
                // The agenda's id of the group meeting the task is linked to, and its title.
                text("meeting"),
                text("meeting_title"),
            ],
            indexes: vec![
                index(&["series", "occurrence"], true),
                index(&["project", "status", "due_sort"], false),
            ],
        },
        CollectionDef {
            name: ASSIGNEES.into(),
            fields: vec![
                task_ref(),
                required(field("user", FieldType::UserRef)),
                text("user_name"),
                // Copies of the task's, kept in step in the same call: « Mes tâches » is
                // one indexed query.
                required(text("project")),
                required(field("group_id", FieldType::GroupRef)),
                text("project_name"),
                text("title"),
                required(text("due_sort")),
                with_default(text("status"), "\"a_faire\""),
                boolean("recurring", "false"),
            ],
            indexes: vec![
                index(&["task", "user"], true),
                index(&["user", "status", "due_sort"], false),
            ],
        },
        CollectionDef {
            name: ENTRIES.into(),
            fields: vec![
                task_ref(),
                project_ref(),
                required(field("group_id", FieldType::GroupRef)),
                text("mission"),
                required(field("person", FieldType::UserRef)),
                text("person_name"),
                required(field("date", FieldType::Date)),
                integer("year"),
                text("month"),
                text("project_person"),
                required(integer("minutes")),
                text("note"),
                field("entered_by", FieldType::UserRef),
                text("entered_by_name"),
                boolean("on_behalf", "false"),
                field("updated_by", FieldType::UserRef),
                text("updated_by_name"),
                with_default(integer("revision"), "1"),
            ],
            indexes: vec![
                index(&["project", "date"], false),
                index(&["person", "date"], false),
                index(&["task", "date"], false),
                index(&["project_person"], false),
            ],
        },
        CollectionDef {
            name: ANNOUNCEMENTS.into(),
            fields: vec![
                required(full_text(text("title"))),
                required(full_text(text("text"))),
                field("author", FieldType::UserRef),
                text("author_name"),
                boolean("pinned", "false"),
                // Off the dashboard after this day.
                field("until", FieldType::Date),
                integer("mailed_at"),
                integer("mailed_count"),
                text("mailed_by_name"),
                boolean("edited", "false"),
            ],
            indexes: vec![index(&["pinned", "created_at"], false)],
        },
        CollectionDef {
            // « Écrire au groupe »: who wrote to whom and when, never the message (the
            // mail itself is the record of what may be sensitive).
            name: GROUP_MAILS.into(),
            fields: vec![
                required(field("group_id", FieldType::GroupRef)),
                text("subject"),
                text("audience"),
                integer("recipients"),
                field("by", FieldType::UserRef),
                text("by_name"),
            ],
            indexes: vec![index(&["group_id", "created_at"], false)],
        },
        CollectionDef {
            // « Mes notifications »: a record once a member saved their choices.
            name: PREFERENCES.into(),
            fields: vec![
                required(field("user", FieldType::UserRef)),
                boolean("digest", "false"),
                boolean("mention_mail", "true"),
            ],
            indexes: vec![index(&["user"], true)],
        },
        CollectionDef {
            // The daily digests mailed: a redelivered timer mails nobody twice.
            name: DIGEST_SENDS.into(),
            fields: vec![
                required(field("day", FieldType::Date)),
                required(field("user", FieldType::UserRef)),
                integer("messages"),
            ],
            indexes: vec![index(&["day", "user"], true)],
        },
        CollectionDef {
            // The agenda's meetings of groups, from `meeting.saved` (`crate::meetings`).
            name: GROUP_MEETINGS.into(),
            fields: vec![
                required(text("meeting")),
                required(field("group_id", FieldType::GroupRef)),
                text("title"),
                required(integer("start_at")),
                text("zone"),
                integer("duration"),
                text("status"),
                integer("sequence"),
                integer("saved_at"),
            ],
            indexes: vec![
                index(&["meeting"], true),
                index(&["group_id", "start_at"], false),
            ],
        },
        CollectionDef {
            // The cloud's documents of groups, from `document.saved` (`crate::documents`);
            // a deleted one stays, marked, so that a late older event does not bring it
            // back.
            name: GROUP_DOCUMENTS.into(),
            fields: vec![
                required(text("document")),
                required(field("group_id", FieldType::GroupRef)),
                text("name"),
                text("folder"),
                integer("version"),
                integer("size"),
                text("content_type"),
                text("by_name"),
                text("path"),
                boolean("deleted", "false"),
                integer("sequence"),
                integer("saved_at"),
            ],
            indexes: vec![
                index(&["document"], true),
                index(&["group_id", "saved_at"], false),
            ],
        },
        CollectionDef {
            // « Réglages des projets » and the digest timer's state (`crate::settings`).
            name: SETTINGS.into(),
            fields: vec![required(text("key")), text("text")],
            indexes: vec![index(&["key"], true)],
        },
        maillage_sdk::thread::collection(),
        maillage_sdk::thread::reads_collection(),
    ]
}

/// A mission of the projet de santé, as in force (defaults and the structure's changes).
#[derive(Debug, Clone, PartialEq)]
pub struct Mission {
    pub code: String,
    pub label: String,
    pub description: String,
    pub active: bool,
}

impl Mission {
    /// « Mission 2 – Parcours pluriprofessionnels ».
    pub fn title(&self) -> String {
        format!("Mission {} – {}", self.code, self.label)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct MissionRecord {
    pub id: String,
    pub code: String,
    #[serde(default, deserialize_with = "or_default")]
    pub label: String,
    #[serde(default, deserialize_with = "or_default")]
    pub description: String,
    #[serde(default, deserialize_with = "or_default")]
    pub active: bool,
}

/// The six missions, defaults overridden by the structure's records.
pub fn missions() -> Result<Vec<Mission>, StoreError> {
    let stored: Vec<MissionRecord> = Query::new().fetch_all(MISSIONS, 100)?;
    Ok(merge_missions(&stored))
}

pub fn merge_missions(stored: &[MissionRecord]) -> Vec<Mission> {
    DEFAULT_MISSIONS
        .iter()
        .map(
            |(code, label)| match stored.iter().find(|m| m.code == *code) {
                Some(m) => Mission {
                    code: (*code).into(),
                    label: if m.label.is_empty() {
                        (*label).into()
                    } else {
                        m.label.clone()
                    },
                    description: m.description.clone(),
                    active: m.active || mandatory(code),
                },
                None => Mission {
                    code: (*code).into(),
                    label: (*label).into(),
                    description: String::new(),
                    active: true,
                },
            },
        )
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub id: String,
    pub group_id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    #[serde(default)]
    pub numero: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub mission: String,
    #[serde(default, deserialize_with = "or_default")]
    pub description: String,
    #[serde(default, deserialize_with = "or_default")]
    pub objectives: String,
    #[serde(default, deserialize_with = "or_default")]
    pub start_date: String,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub coordinator: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub coordinator_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub revision: i64,
}

impl Project {
    pub fn path(&self) -> String {
        format!("/p/{}", self.group_id)
    }
    pub fn numero(&self) -> &str {
        self.numero.as_deref().unwrap_or("")
    }
    /// « 1.2 Soins non programmés ».
    pub fn title(&self) -> String {
        match self.numero.as_deref() {
            Some(n) if !n.is_empty() => format!("{n} {}", self.name),
            _ => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Action {
    pub id: String,
    pub project: String,
    #[serde(default, deserialize_with = "or_default")]
    pub numero: String,
    #[serde(default, deserialize_with = "or_default")]
    pub title: String,
    #[serde(default, deserialize_with = "or_default")]
    pub description: String,
    #[serde(default)]
    pub year: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub status: String,
    #[serde(default, deserialize_with = "or_default")]
    pub position: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Task {
    pub id: String,
    pub project: String,
    pub group_id: String,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub title: String,
    #[serde(default, deserialize_with = "or_default")]
    pub description: String,
    #[serde(default)]
    pub due_date: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub due_sort: String,
    #[serde(default, deserialize_with = "or_default")]
    pub status: String,
    #[serde(default)]
    pub done_at: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub done_by_name: String,
    #[serde(default)]
    pub recurrence_unit: Option<String>,
    #[serde(default)]
    pub recurrence_every: Option<i64>,
    #[serde(default)]
    pub recurrence_anchor: Option<i64>,
    #[serde(default)]
    pub series: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub occurrence: i64,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub created_by_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub minutes: i64,
    #[serde(default)]
    pub meeting: Option<String>,
    /// The linked meeting's title, copied when the task was saved.
    #[serde(default, deserialize_with = "or_default")]
    pub meeting_title: String,
    #[serde(default)]
    pub created_at: i64,
}

impl Task {
    pub fn is_done(&self) -> bool {
        self.status == DONE
    }
    pub fn rule(&self) -> Option<crate::recurrence::Rule> {
        crate::recurrence::Rule::from_stored(
            self.recurrence_unit.as_deref()?,
            self.recurrence_every?,
        )
    }
    pub fn path(&self) -> String {
        format!("/p/{}/taches/{}", self.group_id, self.id)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Assignee {
    pub id: String,
    pub task: String,
    pub user: String,
    #[serde(default, deserialize_with = "or_default")]
    pub user_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub project: String,
    #[serde(default, deserialize_with = "or_default")]
    pub group_id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub project_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub title: String,
    #[serde(default, deserialize_with = "or_default")]
    pub due_sort: String,
    #[serde(default, deserialize_with = "or_default")]
    pub status: String,
    #[serde(default, deserialize_with = "or_default")]
    pub recurring: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub id: String,
    pub task: String,
    pub project: String,
    pub group_id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub mission: String,
    pub person: String,
    #[serde(default, deserialize_with = "or_default")]
    pub person_name: String,
    pub date: String,
    #[serde(default, deserialize_with = "or_default")]
    pub minutes: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub note: String,
    #[serde(default)]
    pub entered_by: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub entered_by_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub on_behalf: bool,
    #[serde(default)]
    pub updated_by: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub updated_by_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub revision: i64,
    #[serde(default)]
    pub created_at: i64,
}

/// The acting member, as the projects module sees them.
pub struct Viewer {
    pub user: Option<User>,
    /// Coordinators and admins: every project.
    pub coordinator: bool,
    /// The groups the member may read (open ones, their own; all for coordinators).
    pub groups: Vec<Group>,
}

impl Viewer {
    pub fn current() -> Viewer {
        let ctx = maillage_sdk::context();
        Viewer {
            coordinator: ctx.roles.iter().any(|r| r == "coordinator" || r == "admin"),
            user: ctx.user,
            groups: groups::visible_groups(),
        }
    }

    pub fn id(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.id.as_str())
    }

    pub fn name(&self) -> String {
        self.user
            .as_ref()
            .map(|u| u.display_name.clone())
            .unwrap_or_default()
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }
}

/// A project the viewer may read, with its group and the viewer's place in it.
pub struct Loaded {
    pub project: Project,
    pub group: Group,
    pub role: Option<GroupRole>,
    pub coordinator: bool,
    pub me: Option<User>,
}

impl Loaded {
    pub fn archived(&self) -> bool {
        self.group.archived
    }
    /// Référents and coordinators: edit the project and its actions, every task, log
    /// time for others.
    pub fn manages(&self) -> bool {
        self.coordinator || self.role == Some(GroupRole::Referent)
    }
    /// Members of the group (any role) and coordinators: the thread, the per-person time.
    pub fn inside(&self) -> bool {
        self.coordinator || self.role.is_some()
    }
    /// Référents, membres actifs, coordinators.
    pub fn contributes(&self) -> bool {
        self.coordinator || matches!(self.role, Some(GroupRole::Referent | GroupRole::Active))
    }
    pub fn me(&self) -> Option<&str> {
        self.me.as_ref().map(|u| u.id.as_str())
    }
    pub fn my_name(&self) -> String {
        self.me
            .as_ref()
            .map(|u| u.display_name.clone())
            .unwrap_or_default()
    }
    /// The group's members (référents first), as the host lists them.
    pub fn members(&self) -> Vec<GroupMember> {
        let mut members = groups::members(&self.group.id).unwrap_or_default();
        members.sort_by_key(|m| {
            (
                match m.role {
                    GroupRole::Referent => 0,
                    GroupRole::Active => 1,
                    GroupRole::Guest => 2,
                },
                maillage_sdk::text::fold(&m.display_name),
            )
        });
        members
    }
    /// Who may edit or delete a task: its creator (a contributor), managers.
    pub fn edits_task(&self, task: &Task) -> bool {
        self.manages() || (self.contributes() && task.created_by.as_deref() == self.me())
    }
    pub fn assigned(&self, task_id: &str) -> Result<bool, StoreError> {
        let Some(me) = self.me() else {
            return Ok(false);
        };
        Ok(Query::new()
            .filter("task = {:t} && user = {:u}")
            .param("t", task_id)
            .param("u", me)
            .count(ASSIGNEES)?
            > 0)
    }
    /// Mark done or reopen: assignees, the creator, managers.
    pub fn completes(&self, task: &Task) -> Result<bool, StoreError> {
        Ok(self.manages()
            || (self.inside() && self.assigned(&task.id)?)
            || (self.contributes() && task.created_by.as_deref() == self.me()))
    }
    /// Edit or delete a time entry: the person, the one who entered it, référents for
    /// what they entered, coordinators all.
    pub fn edits_entry(&self, entry: &Entry) -> bool {
        let me = self.me();
        self.coordinator
            || (me.is_some()
                && (Some(entry.person.as_str()) == me || entry.entered_by.as_deref() == me))
    }
}

/// The project bound to group `group_id`, if the viewer may read it. `Err(Some(_))` when
/// the group exists for the viewer but has no project yet.
pub enum Lookup {
    Found(Box<Loaded>),
    /// A group the viewer may read, not bound to a project.
    Unbound,
    NotFound,
}

pub fn project_of_group(group_id: &str) -> Result<Option<Project>, StoreError> {
    Query::new()
        .filter("group_id = {:g}")
        .param("g", group_id)
        .first::<Project>(PROJECTS)
}

pub fn load(group_id: &str, viewer: &Viewer) -> Result<Lookup, StoreError> {
    if !records::valid_ref(group_id) {
        return Ok(Lookup::NotFound);
    }
    let Some(group) = viewer.group(group_id).cloned() else {
        return Ok(Lookup::NotFound);
    };
    let Some(mut project) = project_of_group(group_id)? else {
        return Ok(Lookup::Unbound);
    };
    // The group's name is the project's: refreshed when it changed on the host's page.
    if project.name != group.name {
        project.name = group.name.clone();
        records::update::<serde_json::Value>(
            PROJECTS,
            &project.id,
            &serde_json::json!({ "name": group.name }),
        )?;
    }
    Ok(Lookup::Found(Box::new(Loaded {
        role: group.my_role,
        project,
        group,
        coordinator: viewer.coordinator,
        me: viewer.user.clone(),
    })))
}

/// Every project, by group id.
pub fn all_projects() -> Result<Vec<Project>, StoreError> {
    Query::new()
        .sort("mission,numero,name")
        .fetch_all(PROJECTS, PAGE_MAX)
}

pub fn task_in(project: &Project, task_id: &str) -> Result<Option<Task>, StoreError> {
    if !records::valid_id(task_id) {
        return Ok(None);
    }
    Ok(records::get::<Task>(TASKS, task_id)?.filter(|t| t.project == project.id))
}

pub fn entry_in(project: &Project, entry_id: &str) -> Result<Option<Entry>, StoreError> {
    if !records::valid_id(entry_id) {
        return Ok(None);
    }
    Ok(records::get::<Entry>(ENTRIES, entry_id)?.filter(|e| e.project == project.id))
}

pub fn action_in(project: &Project, action_id: &str) -> Result<Option<Action>, StoreError> {
    if !records::valid_id(action_id) {
        return Ok(None);
    }
    Ok(records::get::<Action>(ACTIONS, action_id)?.filter(|a| a.project == project.id))
}

pub fn actions_of(project: &Project) -> Result<Vec<Action>, StoreError> {
    Query::new()
        .filter("project = {:p}")
        .param("p", &project.id)
        .sort("position,numero,title")
        .fetch_all(ACTIONS, 500)
}

pub fn assignees_of(task_id: &str) -> Result<Vec<Assignee>, StoreError> {
    Query::new()
        .filter("task = {:t}")
        .param("t", task_id)
        .sort("user_name")
        .fetch_all(ASSIGNEES, 100)
}

pub fn entries_of_task(task_id: &str) -> Result<Vec<Entry>, StoreError> {
    Query::new()
        .filter("task = {:t}")
        .param("t", task_id)
        .sort("date,created_at")
        .fetch_all(ENTRIES, PAGE_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missions_are_the_defaults_with_the_structures_changes() {
        let stored = vec![
            MissionRecord {
                id: "a".into(),
                code: "6".into(),
                label: "Accompagnement des professionnels de santé du territoire".into(),
                description: "".into(),
                active: false,
            },
            MissionRecord {
                id: "b".into(),
                code: "2".into(),
                label: "".into(),
                description: "Parcours".into(),
                active: false,
            },
        ];
        let missions = merge_missions(&stored);
        assert_eq!(missions.len(), 6);
        assert_eq!(missions[0].title(), "Mission 1 – Accès aux soins");
        assert_eq!(missions[1].label, "Parcours pluriprofessionnels");
        // 1 to 4 stay active whatever was stored.
        assert!(missions[1].active);
        assert_eq!(missions[1].description, "Parcours");
        assert!(!missions[5].active);
        assert!(missions[5].label.ends_with("du territoire"));
    }
}
