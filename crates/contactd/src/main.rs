use std::process::ExitCode;

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
