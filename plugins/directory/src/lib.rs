//! The directory (annuaire) module. First piece: reading the national RPPS extract
//! ([`rpps`]); the module's collections, import chunks, search and pages come next.

pub mod rpps;
