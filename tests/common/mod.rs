pub mod fake_page;
pub mod zkcli_fixtures;
pub mod pyspark_fixtures;
