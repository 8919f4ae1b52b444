use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: a GET allocates and frees a few hundred small
/// buffers, and glibc's free and malloc took a quarter of its instructions
/// (docs/performance.md, "Profiles").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = contactd::cli::parse();
    match contactd::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("contactd: {}", contactd::client_cli::describe_error(&e));
            ExitCode::from(contactd::cli::EXIT_FAILED)
        }
    }
}
