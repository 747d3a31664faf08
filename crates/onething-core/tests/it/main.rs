mod calendar;
mod case;
mod catalog;
mod form;
