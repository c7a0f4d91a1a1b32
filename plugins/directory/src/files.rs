//! Who downloads the directory's files ([`maillage_sdk::Plugin::may_read_file`], asked by
//! the host before it streams one). The directory stores one kind of file: the photo of
//! a fiche, sent by « Ma fiche » to the host's upload route, then kept in the fiche's
//! `photo` field. Both fiches (between professionals, public) are shown to every member,
//! so a photo a fiche shows is read by every member; a file no fiche refers to (sent but
//! never saved, or replaced since) by nobody. Only a member whose account is linked to a
//! professional (an approved link: they have a « Ma fiche » to put a photo on) may send
//! one ([`may_upload`]).

use maillage_sdk::records::Query;

use crate::model::FICHES;

/// Whether the acting member may download the file `blob_id`.
pub fn may_read(blob_id: &str) -> bool {
    if blob_id.is_empty() || maillage_sdk::context().user.is_none() {
        return false;
    }
    let shown = Query::new()
        .filter("photo = {:b}")
        .param("b", blob_id)
        .count(FICHES);
    match shown {
        Ok(fiches) => fiches > 0,
        Err(e) => {
            maillage_sdk::log::warn(&format!("annuaire: file {blob_id} not checked: {e:?}"));
            false
        }
    }
}

/// Whether the acting member may send the directory a file: a photo for their own fiche,
/// so only with an approved link.
pub fn may_upload() -> bool {
    match crate::fiche::my_professional() {
        Ok(mine) => mine.is_some(),
        Err(e) => {
            maillage_sdk::log::warn(&format!("annuaire: upload not checked: {e:?}"));
            false
        }
    }
}
