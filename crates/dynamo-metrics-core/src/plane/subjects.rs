//! The NATS subjects and headers of the plane: how a hierarchy path becomes subjects, and what
//! each message carries. Both sides (worker and caller) read them from here.
//!
//! - service name: `<namespace>_<component>`; one service instance per serving process;
//! - endpoint subject: `<namespace>_<component>.<endpoint>-<instance id hex>` (one per instance);
//! - control subjects under the endpoint subject: `.cancel` (payload: the request id) and `.ack`
//!   (payload: `<request id> <limit>`, the caller's credit, see [`ack_payload`]);
//! - every response message carries the request id and its sequence number (from 1); the last
//!   one carries `Dynamo-Final`, and a failed request ends with `Nats-Service-Error`.

use crate::names::nats_subject_token;

/// The request id, on the request and on every response message.
pub const REQUEST_ID_HEADER: &str = "Dynamo-Request-Id";
/// Marks the last message of a response stream.
pub const FINAL_HEADER: &str = "Dynamo-Final";
/// The sequence number of a response message (1, 2, ...), so a caller notices a lost one.
pub const SEQ_HEADER: &str = "Dynamo-Seq";
/// On a request: how many responses the worker may send before the caller's first
/// acknowledgement. Absent: no flow control (a caller that predates it).
pub const WINDOW_HEADER: &str = "Dynamo-Window";
/// The NATS micro-service error headers (the handler's message and a code).
pub const SERVICE_ERROR_HEADER: &str = "Nats-Service-Error";
/// See [`SERVICE_ERROR_HEADER`].
pub const SERVICE_ERROR_CODE_HEADER: &str = "Nats-Service-Error-Code";
/// Error code of a failed handler.
pub const HANDLER_ERROR_CODE: u16 = 500;
/// Error code of a response the worker could not deliver (too large, no credit, connection lost).
pub const DELIVERY_ERROR_CODE: u16 = 502;
/// The version the NATS service announces.
pub const SERVICE_VERSION: &str = "0.1.0";

/// The NATS service name of a component.
pub fn service_name(namespace: &str, component: &str) -> String {
    format!(
        "{}_{}",
        nats_subject_token(namespace),
        nats_subject_token(component)
    )
}

/// The subject one instance of an endpoint serves.
pub fn endpoint_subject(service: &str, endpoint: &str, instance: &str) -> String {
    format!("{service}.{}-{instance}", nats_subject_token(endpoint))
}

/// Where callers send cancellations and acknowledgements for an endpoint subject: one
/// wildcard subscription per endpoint covers both.
pub fn control_wildcard(subject: &str) -> String {
    format!("{subject}.*")
}

/// The cancellation subject of an endpoint subject.
pub fn cancel_subject(subject: &str) -> String {
    format!("{subject}.cancel")
}

/// The acknowledgement subject of an endpoint subject.
pub fn ack_subject(subject: &str) -> String {
    format!("{subject}.ack")
}

/// An acknowledgement: the worker may send request `request_id`'s messages up to sequence
/// number `limit` (cumulative, so a lost acknowledgement is repaired by the next one).
pub fn ack_payload(request_id: &str, limit: u64) -> String {
    format!("{request_id} {limit}")
}

/// The request id and limit of an acknowledgement, or `None` if it is malformed.
pub fn parse_ack(payload: &[u8]) -> Option<(&str, u64)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (id, limit) = text.rsplit_once(' ')?;
    Some((id, limit.parse().ok()?))
}

/// Headers cannot hold newlines.
pub fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_letters_digits_dash_and_underscore() {
        assert_eq!(nats_subject_token("abc-DEF_123"), "abc-DEF_123");
    }

    #[test]
    fn tokens_replace_separators_wildcards_and_whitespace() {
        assert_eq!(nats_subject_token("a.b*c>d e\tf"), "a_b_c_d_e_f");
    }

    #[test]
    fn tokens_replace_each_non_ascii_char_once() {
        assert_eq!(nats_subject_token("é€x"), "__x");
    }

    #[test]
    fn service_name_joins_namespace_and_component_sanitized() {
        // Nested namespaces arrive joined by `.`, which must not split the service name.
        assert_eq!(
            service_name("outer.inner", "my comp"),
            "outer_inner_my_comp"
        );
    }

    #[test]
    fn endpoint_subject_is_service_then_endpoint_and_instance() {
        assert_eq!(
            endpoint_subject("ns_comp", "gen.erate", "00ff"),
            "ns_comp.gen_erate-00ff"
        );
    }

    #[test]
    fn control_subjects_sit_under_the_endpoint_subject() {
        let s = "ns_comp.ep-01";
        assert_eq!(cancel_subject(s), "ns_comp.ep-01.cancel");
        assert_eq!(ack_subject(s), "ns_comp.ep-01.ack");
        assert_eq!(control_wildcard(s), "ns_comp.ep-01.*");
    }

    #[test]
    fn acks_round_trip_and_malformed_ones_are_refused() {
        let p = ack_payload("abc-1", 512);
        assert_eq!(parse_ack(p.as_bytes()), Some(("abc-1", 512)));
        // A request id may contain spaces (raw callers): the limit is the last word.
        assert_eq!(parse_ack(b"a b 7"), Some(("a b", 7)));
        assert_eq!(parse_ack(b"abc"), None);
        assert_eq!(parse_ack(b"abc x"), None);
        assert_eq!(parse_ack(&[0xff, b' ', b'1']), None);
    }

    #[test]
    fn header_values_lose_their_newlines() {
        assert_eq!(one_line("a\r\nb\nc"), "a  b c");
    }
}
