//! The exit-status contract: the table the man page documents, and the one error type that
//! carries a status through `anyhow` to `main`.
//!
//! Scripts branch on these numbers, so they are an API: never renumber them.

use std::fmt;

/// Every status mqttc exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Operational,
    Usage,
    ProtocolVersion,
    IdentifierRejected,
    ServerUnavailable,
    BadCredentials,
    NotAuthorized,
    Interrupted,
    Terminated,
}

impl Status {
    /// Each status with its number and meaning, in the order the documentation lists them.
    pub const ALL: [Status; 10] = [
        Status::Ok,
        Status::Operational,
        Status::Usage,
        Status::ProtocolVersion,
        Status::IdentifierRejected,
        Status::ServerUnavailable,
        Status::BadCredentials,
        Status::NotAuthorized,
        Status::Interrupted,
        Status::Terminated,
    ];

    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Operational => 1,
            Status::Usage => 2,
            Status::ProtocolVersion => 5,
            Status::IdentifierRejected => 6,
            Status::ServerUnavailable => 7,
            Status::BadCredentials => 8,
            Status::NotAuthorized => 9,
            Status::Interrupted => 130,
            Status::Terminated => 143,
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Status::Ok => "no error",
            Status::Operational => {
                "MQTT operational error: connection refused or lost, TLS failure, timeout, \
                 missing acknowledgement, rejected subscription"
            }
            Status::Usage => "illegal invocation: bad option, address, topic, file or input",
            Status::ProtocolVersion => "connection refused: unacceptable protocol version",
            Status::IdentifierRejected => "connection refused: identifier rejected",
            Status::ServerUnavailable => "connection refused: server unavailable",
            Status::BadCredentials => "connection refused: bad user name or password",
            Status::NotAuthorized => "connection refused: not authorized",
            Status::Interrupted => {
                "closed on SIGINT (no DISCONNECT: the broker publishes the will)"
            }
            Status::Terminated => "disconnected on SIGTERM (DISCONNECT sent: no will)",
        }
    }

    /// The status for an MQTT 3.1.1 CONNACK return code (1–5 map onto 5–9).
    pub fn from_connack_v4(code: u8) -> Status {
        match code {
            0 => Status::Ok,
            1 => Status::ProtocolVersion,
            2 => Status::IdentifierRejected,
            3 => Status::ServerUnavailable,
            4 => Status::BadCredentials,
            5 => Status::NotAuthorized,
            _ => Status::Operational,
        }
    }

    /// The status for an MQTT 5 CONNACK reason code.
    pub fn from_connack_v5(reason: u8) -> Status {
        match reason {
            0x00 => Status::Ok,
            0x84 => Status::ProtocolVersion,
            0x85 => Status::IdentifierRejected,
            0x88 | 0x89 => Status::ServerUnavailable,
            0x86 => Status::BadCredentials,
            0x87 => Status::NotAuthorized,
            _ => Status::Operational,
        }
    }

    /// The EXIT STATUS table as text, for `--help` and the man page.
    pub fn table() -> String {
        let mut s = String::new();
        for status in Status::ALL {
            s.push_str(&format!("  {:>3}  {}\n", status.code(), status.meaning()));
        }
        s
    }
}

/// An error that decides the exit status. Anything else that reaches `main` exits 1.
#[derive(Debug)]
pub struct Failure {
    pub status: Status,
    pub message: String,
}

impl Failure {
    pub fn error(status: Status, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Failure {
            status,
            message: message.into(),
        })
    }

    /// An illegal invocation: exit 2, and nothing goes to the broker.
    pub fn usage(message: impl Into<String>) -> anyhow::Error {
        Failure::error(Status::Usage, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The status an error exits with: the first `Failure` in its chain decides, else 1.
pub fn status_of(err: &anyhow::Error) -> Status {
    err.chain()
        .find_map(|e| e.downcast_ref::<Failure>())
        .map_or(Status::Operational, |f| f.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_numbers() {
        let codes: Vec<u8> = Status::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, [0, 1, 2, 5, 6, 7, 8, 9, 130, 143]);
    }

    #[test]
    fn connack_v4_return_codes_map_onto_5_to_9() {
        let mapped: Vec<u8> = (0..=6).map(|c| Status::from_connack_v4(c).code()).collect();
        assert_eq!(mapped, [0, 5, 6, 7, 8, 9, 1]);
    }

    #[test]
    fn connack_v5_reason_codes() {
        for (reason, code) in [
            (0x00, 0),
            (0x80, 1),
            (0x84, 5),
            (0x85, 6),
            (0x86, 8),
            (0x87, 9),
            (0x88, 7),
            (0x89, 7),
            (0x8A, 1),
            (0x97, 1),
        ] {
            assert_eq!(
                Status::from_connack_v5(reason).code(),
                code,
                "reason {reason:#x}"
            );
        }
    }

    #[test]
    fn status_of_walks_the_context_chain() {
        let err = Failure::error(Status::BadCredentials, "refused").context("connecting");
        assert_eq!(status_of(&err), Status::BadCredentials);
        assert_eq!(status_of(&anyhow::anyhow!("plain")), Status::Operational);
        assert_eq!(status_of(&Failure::usage("bad")), Status::Usage);
    }
}
