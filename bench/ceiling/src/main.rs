//! `contactd-bench-ceiling ADDR`: answers every GET with one constant JSON object the size
//! of a contactd contact. What wrk measures against it is the ceiling that HTTP parsing,
//! axum routing and the loopback network leave on this machine.

use axum::http::header;
use axum::response::IntoResponse;
use axum::serve::ListenerExt;
use axum::Router;

const CONTACT: &str = concat!(
    r#"{"id":"cnt_038ggac0fy000a0wp1kh1adwpwetq","phone":"+12000000001","#,
    r#""email":"contact1@example.com","first_name":"Ada","last_name":"Lovelace","#,
    r#""full_name":"Ada Lovelace","preferred_channel":"whatsapp","#,
    r#""metadata":{"plan":"premium","source":"import","region":"eu-west","#,
    r#""score":42,"tags":["vip","beta"],"note":"bench contact 000001"},"#,
    r#""status":"active","created_at":"2026-01-25T10:30:00.000000Z","#,
    r#""updated_at":"2026-01-25T10:30:00.000000Z","last_contacted":null}"#
);

async fn contact() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], CONTACT)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".to_owned());
    // Any method: bench/run also points a webhook endpoint here, whose deliveries are POSTs.
    let app = Router::new().fallback(contact);
    // contactd sets TCP_NODELAY on every connection; so does the ceiling.
    let listener = tokio::net::TcpListener::bind(&addr).await?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
