mod calendar;
mod catalog;
