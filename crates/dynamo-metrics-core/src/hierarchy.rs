//! The Dynamo hierarchy: runtime > namespace (may nest) > component > endpoint.
//! Each level owns its metric families and callbacks; a level's auto labels come from its path.

use crate::error::{ErrorKind, MetricsError, Result};
use crate::names;

/// Index of a level in the hierarchy.
pub type NodeId = u32;
/// The runtime level.
pub const ROOT: NodeId = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// A kind of level of the hierarchy.
pub enum Level {
    /// The `DistributedRuntime` itself (the root).
    Runtime,
    /// A namespace (namespaces nest).
    Namespace,
    /// A component of a namespace.
    Component,
    /// An endpoint of a component.
    Endpoint,
}

impl Level {
    /// The child level the binding names `namespace`, `component` or `endpoint`.
    pub fn parse(s: &str) -> Result<Level> {
        match s {
            "namespace" => Ok(Level::Namespace),
            "component" => Ok(Level::Component),
            "endpoint" => Ok(Level::Endpoint),
            other => Err(MetricsError::new(
                ErrorKind::InvalidName,
                format!(
                    "unknown hierarchy level '{other}' (expected namespace, component or endpoint)"
                ),
            )),
        }
    }

    /// The level's name in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Runtime => "runtime",
            Level::Namespace => "namespace",
            Level::Component => "component",
            Level::Endpoint => "endpoint",
        }
    }

    /// The auto label a level sets (the runtime sets none).
    fn label_key(self) -> Option<&'static str> {
        match self {
            Level::Runtime => None,
            Level::Namespace => Some("dynamo_namespace"),
            Level::Component => Some("dynamo_component"),
            Level::Endpoint => Some("dynamo_endpoint"),
        }
    }

    fn may_contain(self, child: Level) -> bool {
        matches!(
            (self, child),
            (Level::Runtime, Level::Namespace)
                | (Level::Namespace, Level::Namespace)
                | (Level::Namespace, Level::Component)
                | (Level::Component, Level::Endpoint)
        )
    }
}

/// One level.
pub struct Node {
    /// Its parent (None for the root).
    pub parent: Option<NodeId>,
    /// What kind of level it is.
    pub level: Level,
    /// Its name as given.
    pub name: String,
    /// Sanitized label value of this level (empty for the runtime).
    pub label: String,
    /// Its child levels.
    pub children: Vec<NodeId>,
    /// Auto labels as (key, value), sorted by key.
    pub auto_labels: Vec<(String, String)>,
    /// The families created at this level.
    pub families: Vec<u32>,
    /// The metrics callbacks registered at this level.
    pub callbacks: Vec<u32>,
}

/// Every level of a runtime.
pub struct Hierarchy {
    nodes: Vec<Node>,
}

impl Default for Hierarchy {
    fn default() -> Self {
        Self::new()
    }
}

impl Hierarchy {
    /// A hierarchy holding the root only.
    pub fn new() -> Self {
        Hierarchy {
            nodes: vec![Node {
                parent: None,
                level: Level::Runtime,
                name: String::new(),
                label: String::new(),
                children: Vec::new(),
                auto_labels: Vec::new(),
                families: Vec::new(),
                callbacks: Vec::new(),
            }],
        }
    }

    /// Level `id`.
    pub fn node(&self, id: NodeId) -> Result<&Node> {
        self.nodes.get(id as usize).ok_or_else(|| unknown_node(id))
    }

    /// Level `id`, to change.
    pub fn node_mut(&mut self, id: NodeId) -> Result<&mut Node> {
        self.nodes
            .get_mut(id as usize)
            .ok_or_else(|| unknown_node(id))
    }

    /// Returns the child `name` of `parent`, creating it on first use, so asking twice gives the
    /// same level (and so the same metrics).
    pub fn child(&mut self, parent: NodeId, level: Level, name: &str) -> Result<NodeId> {
        let p = self.node(parent)?;
        if !p.level.may_contain(level) {
            return Err(MetricsError::new(
                ErrorKind::InvalidName,
                format!("a {} cannot contain a {}", p.level.as_str(), level.as_str()),
            ));
        }
        let own = names::hierarchy_label_value(level.as_str(), name)?;
        for &c in &p.children {
            let child = &self.nodes[c as usize];
            if child.level != level {
                continue;
            }
            if child.name == name {
                return Ok(c);
            }
            if child.label == own {
                return Err(MetricsError::new(
                    ErrorKind::InvalidName,
                    format!(
                        "{} name '{}' collides with '{}': both become label value '{}' after sanitizing",
                        level.as_str(),
                        name,
                        child.name,
                        own
                    ),
                ));
            }
        }
        // Nested namespaces label their metrics with the joined path (`outer_inner`), not by
        // position, so a component under a nested namespace keeps its own dynamo_component label.
        let label = if level == Level::Namespace && p.level == Level::Namespace {
            format!("{}_{}", p.label, own)
        } else {
            own
        };
        let mut auto_labels = p.auto_labels.clone();
        let key = level.label_key().expect("child levels have a label key");
        auto_labels.retain(|(k, _)| k != key);
        auto_labels.push((key.to_string(), label.clone()));
        auto_labels.sort();
        let id = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            parent: Some(parent),
            level,
            name: name.to_string(),
            label,
            children: Vec::new(),
            auto_labels,
            families: Vec::new(),
            callbacks: Vec::new(),
        });
        self.nodes[parent as usize].children.push(id);
        Ok(id)
    }

    /// How many levels there are (levels are never removed).
    pub fn level_count(&self) -> usize {
        self.nodes.len()
    }

    /// The subtree rooted at `root` in depth-first order (self first, children in creation order).
    pub fn subtree(&self, root: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            let Some(node) = self.nodes.get(n as usize) else {
                continue;
            };
            out.push(n);
            stack.extend(node.children.iter().rev());
        }
        out
    }
}

fn unknown_node(id: NodeId) -> MetricsError {
    MetricsError::new(ErrorKind::Closed, format!("unknown hierarchy node {id}"))
}
