//! The headless CLI: `zkspark sim --seed N --servers K --duration-ms T [--faults]` runs a seeded
//! ensemble without a browser and prints one JSON line. It is how a seed is replayed.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match zkspark::cli::run(&args) {
        Ok((line, ok)) => {
            println!("{line}");
            if !ok {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("zkspark: {e}\n\n{}", zkspark::cli::USAGE);
            std::process::exit(2);
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
