//! End-to-end tests: the composed server on a free loopback port, driven
//! over real HTTP, its mail read from a real SMTP listener on loopback.
//! Test names are `<endpoint>_<case>`, following drr-api.md, or
//! `checklist_NN_<case>` for the rows of the security checklist.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test binary: a failed unwrap is a failed test

mod account;
mod change_password;
mod checklist;
mod cli;
mod django;
mod djoser;
mod faults;
mod harness;
mod http;
mod limits;
mod login;
mod logs;
mod mail;
mod openapi;
mod ops;
mod pages;
mod processes;
mod profile;
mod register;
mod register_email;
mod reset_password;
mod restauth;
mod scale;
mod venv;
mod verify_registration;
