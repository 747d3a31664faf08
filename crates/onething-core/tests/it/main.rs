mod calendar;
mod case;
mod catalog;
mod colour;
mod form;
