//! The hierarchy of levels through the public API.
use dynamo_metrics_core::hierarchy::*;
use dynamo_metrics_core::ErrorKind;

#[test]
fn same_child_twice_is_the_same_node() {
    let mut h = Hierarchy::new();
    let a = h.child(ROOT, Level::Namespace, "ns").unwrap();
    let b = h.child(ROOT, Level::Namespace, "ns").unwrap();
    assert_eq!(a, b);
    let c = h.child(a, Level::Component, "comp").unwrap();
    let e = h.child(c, Level::Endpoint, "ep").unwrap();
    assert_eq!(h.child(c, Level::Endpoint, "ep").unwrap(), e);
    assert_eq!(
        h.node(e).unwrap().auto_labels,
        vec![
            ("dynamo_component".to_string(), "comp".to_string()),
            ("dynamo_endpoint".to_string(), "ep".to_string()),
            ("dynamo_namespace".to_string(), "ns".to_string()),
        ]
    );
    assert_eq!(h.subtree(ROOT), vec![ROOT, a, c, e]);
    assert_eq!(h.subtree(c), vec![c, e]);
}

#[test]
fn hierarchy_names_are_sanitized_and_nested_namespaces_join() {
    let mut h = Hierarchy::new();
    let a = h.child(ROOT, Level::Namespace, "@@123").unwrap();
    assert_eq!(h.node(a).unwrap().label, "_123");
    let inner = h.child(a, Level::Namespace, "inner").unwrap();
    let c = h.child(inner, Level::Component, "comp").unwrap();
    let labels = &h.node(c).unwrap().auto_labels;
    assert!(labels.contains(&("dynamo_namespace".into(), "_123_inner".into())));
    assert!(labels.contains(&("dynamo_component".into(), "comp".into())));
}

#[test]
fn collisions_and_bad_levels_are_errors() {
    let mut h = Hierarchy::new();
    let ns = h.child(ROOT, Level::Namespace, "ns").unwrap();
    let c = h.child(ns, Level::Component, "comp").unwrap();
    h.child(c, Level::Endpoint, "a-b").unwrap();
    let err = h.child(c, Level::Endpoint, "a_b").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidName);
    assert!(err.message.contains("'a_b'") && err.message.contains("'a-b'"));
    assert!(h.child(ROOT, Level::Component, "x").is_err());
    assert!(h.child(ns, Level::Endpoint, "x").is_err());
    assert_eq!(
        h.child(c, Level::Endpoint, "").unwrap_err().kind,
        ErrorKind::InvalidName
    );
}
