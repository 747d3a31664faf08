//! Integration tests of onething-licence: one test binary (`mod` per topic).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;

mod credential;
mod external;
mod keys;
mod layout;
mod qr;
mod record;
mod status;
mod vectors;
