pub mod zkcli_fixtures;
