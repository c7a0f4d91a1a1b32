//! Integration tests: the real host, real plugin components built from `plugins/`,
//! a real SQLite file. One test binary for the whole suite (build time).

mod administration;
mod agenda;
mod blobs;
mod browser;
mod cloud;
mod cloud_streaming;
mod crash;
mod directory;
mod documents_merge;
mod events;
mod faults;
mod files;
mod hardening;
mod identity;
mod indemnity;
mod isolation;
mod library;
mod library_module;
mod library_pages;
mod loading;
mod mail_tls;
mod module_services;
mod operations;
mod plugin_cli;
mod polls;
mod projects;
mod projects_exports;
mod projects_thread;
mod records;
mod support;
mod web_edge;
mod webdriver;
