//! onething-core: the domain of onething — the catalogue and its checks, the bundle compiler, the Chinese
//! working-time clock and the national code checks. It does no IO: every input arrives as a value (file texts
//! arrive as strings with their names), so everything here is unit-testable and cannot fail on IO.

pub mod calendar;
pub mod case;
pub mod catalog;
pub mod codes;
pub mod colour;
pub mod deregistration;
pub mod duration;
pub mod form;
pub mod media;
pub mod mediation;
pub mod plan;
pub mod registry;
pub mod source;
pub mod workorder;
