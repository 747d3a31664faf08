#![allow(clippy::unwrap_used, clippy::expect_used)]
mod calendar;
mod case;
mod catalog;
mod colour;
mod deregistration;
mod form;
mod registry;
