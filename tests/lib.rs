//! Integration tests: one binary, driving the real `gen` executable.

mod integration;
