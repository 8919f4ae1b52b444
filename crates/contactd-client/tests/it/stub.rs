//! A scripted HTTP/1.1 stub on `127.0.0.1:0`, in front of a real contactd or alone: each
//! request takes the next step of its script (answer this, or forward to the server and
//! maybe drop its answer); once the script is done, requests are forwarded. Every request
//! is recorded with the time it arrived and its `Idempotency-Key`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the stub does with one request.
#[derive(Clone, Debug)]
pub enum Step {
    /// Answers with this status, `Retry-After` (seconds) if given, and this body.
    Answer {
        status: u16,
        retry_after: Option<u64>,
        body: String,
    },
    /// Waits this long, then goes on with the next step for the same request.
    Stall(Duration),
    /// Forwards to the server, then throws its answer away and answers this status
    /// instead, as when an answer is lost on the way back.
    ForwardThenAnswer(u16),
}

impl Step {
    /// An answer with the error envelope of `error`.
    pub fn error(status: u16, error: &str, retry_after: Option<u64>) -> Step {
        Step::Answer {
            status,
            retry_after,
            body: format!(
                r#"{{"error":"{error}","message":"scripted {error}","code":{status},"details":{{}}}}"#
            ),
        }
    }
}

/// One request the stub received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub body: Vec<u8>,
    /// `Idempotent-Replayed` of the server's answer, when the request was forwarded.
    pub replayed: Option<String>,
}

pub struct Stub {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    /// A stub that plays `script`, then forwards to `upstream` (or answers 502 without one).
    pub async fn start(script: Vec<Step>, upstream: Option<&str>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State {
            script: Mutex::new(script.into_iter().collect()),
            upstream: upstream.map(str::to_owned),
            seen: seen.clone(),
            http: reqwest::Client::new(),
        });
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, state.clone()));
            }
        });
        Stub {
            url: format!("http://{addr}"),
            seen,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

struct State {
    script: Mutex<std::collections::VecDeque<Step>>,
    upstream: Option<String>,
    seen: Arc<Mutex<Vec<Seen>>>,
    http: reqwest::Client,
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// One request per connection: the stub answers with `Connection: close`.
async fn serve(mut stream: TcpStream, state: Arc<State>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let at = Instant::now();
    let mut replayed = None;
    let answer = loop {
        let step = state.script.lock().unwrap().pop_front();
        match step {
            Some(Step::Stall(wait)) => tokio::time::sleep(wait).await,
            Some(Step::Answer {
                status,
                retry_after,
                body,
            }) => {
                let headers = retry_after
                    .map(|s| vec![("Retry-After".to_owned(), s.to_string())])
                    .unwrap_or_default();
                break Answer {
                    status,
                    headers,
                    body: body.into_bytes(),
                };
            }
            Some(Step::ForwardThenAnswer(status)) => {
                let forwarded = forward(&state, &request).await;
                replayed = header(&forwarded, "idempotent-replayed");
                break Answer {
                    status,
                    headers: Vec::new(),
                    body: Vec::new(),
                };
            }
            None => {
                let forwarded = forward(&state, &request).await;
                replayed = header(&forwarded, "idempotent-replayed");
                break forwarded;
            }
        }
    };
    state.seen.lock().unwrap().push(Seen {
        at,
        method: request.method.clone(),
        path: request.path.clone(),
        idempotency_key: request.header("idempotency-key").map(str::to_owned),
        body: request.body.clone(),
        replayed,
    });
    let mut head = format!(
        "HTTP/1.1 {} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // The client may have given up (a timeout); that is part of some scripts.
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&answer.body).await;
    let _ = stream.shutdown().await;
}

fn header(answer: &Answer, name: &str) -> Option<String> {
    answer
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

async fn forward(state: &State, request: &Request) -> Answer {
    let Some(upstream) = &state.upstream else {
        return Answer {
            status: 502,
            headers: Vec::new(),
            body: b"no upstream".to_vec(),
        };
    };
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
    let mut builder = state
        .http
        .request(method, format!("{upstream}{}", request.path));
    for (name, value) in &request.headers {
        let skip = ["host", "content-length", "connection"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
        if !skip {
            builder = builder.header(name, value);
        }
    }
    let response = builder.body(request.body.clone()).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| {
            !["content-length", "connection", "transfer-encoding"].contains(&name.as_str())
        })
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let body = response.bytes().await.unwrap().to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}
