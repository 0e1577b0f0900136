//! A small fake AWS endpoint on 127.0.0.1:0 that answers with AWS's real response
//! shapes: query-protocol XML for CloudFormation, JSON 1.1 for CloudWatch Logs and the
//! tagging API, REST-JSON for X-Ray. Used where moto differs from AWS (failed stacks
//! and rollbacks, "No updates are to be performed.", SAM transforms, X-Ray data).
//!
//! A test gives a function from a request to a canned response; every request is
//! recorded so the test can check what was sent.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The operation: `Action=` of a query request, the `X-Amz-Target` suffix of a
    /// JSON 1.1 request, or the path of a REST-JSON one.
    pub operation: String,
    /// The body as text.
    pub body: String,
}

/// A canned response.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `text/xml`, `application/x-amz-json-1.1`, ...
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Reply {
    /// 200 with query-protocol XML.
    pub fn xml(body: impl Into<String>) -> Reply {
        Reply {
            status: 200,
            content_type: "text/xml",
            body: body.into(),
        }
    }

    /// A query-protocol error (`<ErrorResponse>`), as CloudFormation sends it.
    pub fn xml_error(status: u16, code: &str, message: &str) -> Reply {
        Reply {
            status,
            content_type: "text/xml",
            body: format!(
                "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
                 <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>5ccc7dcd-744c-11e5-be70-1b08c228efb3</RequestId></ErrorResponse>"
            ),
        }
    }

    /// 200 with a JSON 1.1 body.
    pub fn json(body: impl Into<String>) -> Reply {
        Reply {
            status: 200,
            content_type: "application/x-amz-json-1.1",
            body: body.into(),
        }
    }

    /// 200 with a REST-JSON body.
    pub fn rest_json(body: impl Into<String>) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json",
            body: body.into(),
        }
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A running fake; stops when dropped.
pub struct FakeAws {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeAws {
    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests had `operation`.
    pub fn count(&self, operation: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.operation == operation)
            .count()
    }
}

impl Drop for FakeAws {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn operation_of(path: &str, target: Option<&str>, body: &str) -> String {
    if let Some(t) = target {
        return t.rsplit('.').next().unwrap_or(t).to_string();
    }
    for pair in body.split('&') {
        if let Some(action) = pair.strip_prefix("Action=") {
            return action.to_string();
        }
    }
    path.split('?')
        .next()
        .unwrap_or(path)
        .trim_start_matches('/')
        .to_string()
}

/// Start a fake answering with `handler`.
pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> FakeAws {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler: Arc<Handler> = Arc::new(handler);
    let seen_in = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let seen = seen_in.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let handler = handler.clone();
                    let seen = seen.clone();
                    async move {
                        let path = req.uri().to_string();
                        let target = req
                            .headers()
                            .get("x-amz-target")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let body = String::from_utf8_lossy(&body).to_string();
                        let request = Seen {
                            operation: operation_of(&path, target.as_deref(), &body),
                            body,
                        };
                        seen.lock().unwrap().push(request.clone());
                        let reply = handler(&request);
                        let response = hyper::Response::builder()
                            .status(reply.status)
                            .header("content-type", reply.content_type)
                            .header("x-amzn-requestid", "fake-request-id")
                            .body(Full::new(Bytes::from(reply.body)))
                            .unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    FakeAws { url, seen, task }
}

/// `<DescribeStacksResponse>` with one stack.
pub fn describe_stacks_xml(name: &str, status: &str, outputs: &[(&str, &str)]) -> String {
    let outputs: String = outputs
        .iter()
        .map(|(k, v)| {
            format!("<member><OutputKey>{k}</OutputKey><OutputValue>{v}</OutputValue></member>")
        })
        .collect();
    format!(
        "<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
         <DescribeStacksResult><Stacks><member>\
         <StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/2c4b3f10-8e5f-11ee-b9d1-0242ac120002</StackId>\
         <StackName>{name}</StackName>\
         <CreationTime>2024-01-01T00:00:00.000Z</CreationTime>\
         <StackStatus>{status}</StackStatus>\
         <Outputs>{outputs}</Outputs>\
         <Tags><member><Key>tailgate:managed</Key><Value>true</Value></member></Tags>\
         </member></Stacks></DescribeStacksResult>\
         <ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata>\
         </DescribeStacksResponse>"
    )
}

/// The error AWS gives for a stack that does not exist.
pub fn no_such_stack(name: &str) -> Reply {
    Reply::xml_error(
        400,
        "ValidationError",
        &format!("Stack with id {name} does not exist"),
    )
}

/// A one-element `<member>` of `<StackEvents>`.
pub fn stack_event(
    name: &str,
    logical: &str,
    kind: &str,
    status: &str,
    reason: &str,
    ts: &str,
) -> String {
    format!(
        "<member><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/x</StackId>\
         <EventId>{logical}-{status}-{ts}</EventId><StackName>{name}</StackName>\
         <LogicalResourceId>{logical}</LogicalResourceId><PhysicalResourceId></PhysicalResourceId>\
         <ResourceType>{kind}</ResourceType><Timestamp>{ts}</Timestamp>\
         <ResourceStatus>{status}</ResourceStatus><ResourceStatusReason>{reason}</ResourceStatusReason></member>"
    )
}

/// `<DescribeStackEventsResponse>` with `members` (newest first, as AWS sends them).
pub fn stack_events_xml(members: &[String]) -> String {
    format!(
        "<DescribeStackEventsResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
         <DescribeStackEventsResult><StackEvents>{}</StackEvents></DescribeStackEventsResult>\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStackEventsResponse>",
        members.concat()
    )
}

/// A response with an empty `<{op}Result>` (CreateStack, UpdateStack, DeleteStack).
pub fn ok_xml(op: &str, inner: &str) -> Reply {
    Reply::xml(format!(
        "<{op}Response xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
         <{op}Result>{inner}</{op}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{op}Response>"
    ))
}
