//! Method 1 wire types (Dynamo's `kv_router::protocols` / `scoring`), as JSON with Dynamo's
//! snake_case names, and their one validation. JS passes the same shapes with camelCase names;
//! [`Naming`] picks which spelling a reader expects, so both sides go through the same checks.
//! [`FIELDS`] declares every field and its rule once; the TS face reads it (`kvMetricsSchema`).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ErrorKind, MetricsError, Result};

/// Which spelling of the field names a reader expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    /// Dynamo's snake_case, as on NATS.
    Wire,
    /// camelCase, as JS passes it.
    Js,
}

/// What a field may hold (Dynamo's Rust type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A non-negative integer below 2^64 (`u64`).
    U64,
    /// A non-negative integer below 2^32 (`u32`).
    U32,
    /// A number from 0 to 1 (`f32` fractions).
    Fraction,
    /// An array of `u32`.
    U32List,
}

impl FieldKind {
    /// The kind's name in the schema TS reads (`kvMetricsSchema`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::U64 => "u64",
            FieldKind::U32 => "u32",
            FieldKind::Fraction => "fraction",
            FieldKind::U32List => "u32[]",
        }
    }

    /// What the rule says, for error messages (the TS validator uses the same words).
    pub fn rule(self) -> &'static str {
        match self {
            FieldKind::U64 => "must be a non-negative integer (u64)",
            FieldKind::U32 => "must be a non-negative integer below 2^32 (u32)",
            FieldKind::Fraction => "must be a number from 0 to 1",
            FieldKind::U32List => "must be an array of non-negative integers below 2^32 (u32)",
        }
    }
}

/// One field of `ForwardPassMetrics`: its group, both spellings, its rule, whether it may be absent.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// The struct it belongs to.
    pub group: Group,
    /// Dynamo's snake_case name, as on NATS.
    pub wire: &'static str,
    /// The camelCase name JS passes.
    pub js: &'static str,
    /// The rule its value follows.
    pub kind: FieldKind,
    /// Whether it may be absent (an `Option` in Dynamo).
    pub optional: bool,
}

/// The three parts of `ForwardPassMetrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// `worker_stats`: request slots and queue.
    WorkerStats,
    /// `kv_stats`: KV cache blocks and usage.
    KvStats,
    /// `spec_decode_stats`: speculative decoding, absent for engines without it.
    SpecDecodeStats,
}

impl Group {
    /// Dynamo's snake_case field name of the group.
    pub fn wire(self) -> &'static str {
        match self {
            Group::WorkerStats => "worker_stats",
            Group::KvStats => "kv_stats",
            Group::SpecDecodeStats => "spec_decode_stats",
        }
    }
    /// The camelCase name JS passes.
    pub fn js(self) -> &'static str {
        match self {
            Group::WorkerStats => "workerStats",
            Group::KvStats => "kvStats",
            Group::SpecDecodeStats => "specDecodeStats",
        }
    }
    /// `spec_decode_stats` may be absent (or null); the other two are required.
    pub fn optional(self) -> bool {
        self == Group::SpecDecodeStats
    }
    fn name(self, naming: Naming) -> &'static str {
        match naming {
            Naming::Wire => self.wire(),
            Naming::Js => self.js(),
        }
    }
}

const fn f(
    group: Group,
    wire: &'static str,
    js: &'static str,
    kind: FieldKind,
    optional: bool,
) -> Field {
    Field {
        group,
        wire,
        js,
        kind,
        optional,
    }
}

use FieldKind::{Fraction, U32List, U32, U64};
use Group::{KvStats as K, SpecDecodeStats as S, WorkerStats as W};

/// Every field of `ForwardPassMetrics`, in this order in the structs below.
pub const FIELDS: [Field; 13] = [
    f(W, "data_parallel_rank", "dataParallelRank", U32, true),
    f(W, "request_active_slots", "requestActiveSlots", U64, false),
    f(W, "request_total_slots", "requestTotalSlots", U64, false),
    f(W, "num_requests_waiting", "numRequestsWaiting", U64, false),
    f(K, "kv_active_blocks", "kvActiveBlocks", U64, false),
    f(K, "kv_total_blocks", "kvTotalBlocks", U64, false),
    f(
        K,
        "gpu_cache_usage_perc",
        "gpuCacheUsagePerc",
        Fraction,
        false,
    ),
    f(
        K,
        "gpu_prefix_cache_hit_rate",
        "gpuPrefixCacheHitRate",
        Fraction,
        false,
    ),
    f(S, "num_spec_tokens", "numSpecTokens", U32, true),
    f(S, "num_drafts", "numDrafts", U32, true),
    f(S, "num_draft_tokens", "numDraftTokens", U32, true),
    f(S, "num_accepted_tokens", "numAcceptedTokens", U32, true),
    f(
        S,
        "num_accepted_tokens_per_pos",
        "numAcceptedTokensPerPos",
        U32List,
        true,
    ),
];

/// A worker's request load (Dynamo's `WorkerStats`). Field rules: [`FIELDS`].
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct WorkerStats {
    /// Which data-parallel rank of the worker reports, for engines that run several.
    pub data_parallel_rank: Option<u32>,
    /// Requests being served.
    pub request_active_slots: u64,
    /// Requests it can serve at once.
    pub request_total_slots: u64,
    /// Requests queued for a slot; a change of it sends a `LoadEvent`.
    pub num_requests_waiting: u64,
}

/// A worker's KV cache (Dynamo's `KvStats`).
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct KvStats {
    /// Blocks in use: the load the aggregator averages; a change of it sends a `LoadEvent`.
    pub kv_active_blocks: u64,
    /// Blocks in the cache.
    pub kv_total_blocks: u64,
    /// Fraction 0..1 (an `f32` in Dynamo; `f64` here so JS numbers round-trip exactly).
    pub gpu_cache_usage_perc: f64,
    /// Fraction 0..1, exported as `llm_kv_hit_rate_percent` despite the name.
    pub gpu_prefix_cache_hit_rate: f64,
}

/// Speculative decoding counts (Dynamo's `SpecDecodeStats`): every field optional, as engines
/// report different subsets.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct SpecDecodeStats {
    /// Tokens proposed per draft.
    pub num_spec_tokens: Option<u32>,
    /// Drafts made.
    pub num_drafts: Option<u32>,
    /// Draft tokens proposed in all.
    pub num_draft_tokens: Option<u32>,
    /// Draft tokens accepted.
    pub num_accepted_tokens: Option<u32>,
    /// Accepted tokens by position in the draft.
    pub num_accepted_tokens_per_pos: Option<Vec<u32>>,
}

/// What a worker publishes (Dynamo's `ForwardPassMetrics`): its stats data and `LoadEvent` body.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct ForwardPassMetrics {
    /// Request load.
    pub worker_stats: WorkerStats,
    /// KV cache load.
    pub kv_stats: KvStats,
    /// Serialized as `null` when absent, as Dynamo's serde does.
    pub spec_decode_stats: Option<SpecDecodeStats>,
}

/// A change of a worker's load, pushed to `namespace.<ns>.kv_metrics`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadEvent {
    /// The sender (an i64, as Dynamo's lease ids are).
    pub worker_id: i64,
    /// Its metrics at the change.
    pub data: ForwardPassMetrics,
}

/// One routing decision's cache overlap (Dynamo's `KVHitRateEvent`), to `namespace.<ns>.kv-hit-rate`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KvHitRateEvent {
    /// The worker the request went to.
    pub worker_id: i64,
    /// Blocks of the request's input sequence.
    pub isl_blocks: u64,
    /// Of those, blocks already in that worker's cache.
    pub overlap_blocks: u32,
}

fn invalid(what: &str, path: &str, rule: &str, got: Option<&Value>) -> MetricsError {
    let got = match got {
        None => "it is missing".to_string(),
        Some(v) => {
            let mut s = v.to_string();
            if s.len() > 40 {
                s.truncate(40);
                s.push_str("...");
            }
            format!("got {s}")
        }
    };
    MetricsError::new(
        ErrorKind::InvalidValue,
        format!("{what} field '{path}' {rule} ({got})"),
    )
}

/// Reads the fields of one JSON object, naming each failure `<what> field '<prefix><name>'`.
struct Reader<'a> {
    what: &'static str,
    prefix: String,
    map: &'a Map<String, Value>,
    naming: Naming,
}

impl<'a> Reader<'a> {
    fn root(what: &'static str, v: &'a Value, naming: Naming) -> Result<Reader<'a>> {
        match v.as_object() {
            Some(map) => Ok(Reader {
                what,
                prefix: String::new(),
                map,
                naming,
            }),
            None => Err(MetricsError::new(
                ErrorKind::InvalidValue,
                format!("{what} must be an object (got {})", kind_of(v)),
            )),
        }
    }

    fn path(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    fn name(&self, wire: &'static str, js: &'static str) -> &'static str {
        match self.naming {
            Naming::Wire => wire,
            Naming::Js => js,
        }
    }

    /// The value of a field; `None` when absent or null and `optional`.
    fn value(&self, name: &'static str, optional: bool, rule: &str) -> Result<Option<&'a Value>> {
        match self.map.get(name) {
            None | Some(Value::Null) if optional => Ok(None),
            None => Err(invalid(self.what, &self.path(name), rule, None)),
            Some(v) => Ok(Some(v)),
        }
    }

    fn group(&self, g: Group) -> Result<Option<Reader<'a>>> {
        let name = g.name(self.naming);
        let Some(v) = self.value(name, g.optional(), "must be an object")? else {
            return Ok(None);
        };
        match v.as_object() {
            Some(map) => Ok(Some(Reader {
                what: self.what,
                prefix: format!("{}{}.", self.prefix, name),
                map,
                naming: self.naming,
            })),
            None => Err(invalid(
                self.what,
                &self.path(name),
                "must be an object",
                Some(v),
            )),
        }
    }

    fn int(
        &self,
        name: &'static str,
        optional: bool,
        kind: FieldKind,
        max: f64,
    ) -> Result<Option<u64>> {
        let Some(v) = self.value(name, optional, kind.rule())? else {
            return Ok(None);
        };
        match int_of(v, max) {
            Some(n) => Ok(Some(n)),
            None => Err(invalid(self.what, &self.path(name), kind.rule(), Some(v))),
        }
    }

    fn field(&self, f: &Field) -> Result<Option<u64>> {
        let max = if f.kind == U32 {
            u32::MAX as f64
        } else {
            u64::MAX as f64
        };
        self.int(self.name(f.wire, f.js), f.optional, f.kind, max)
    }

    fn fraction(&self, f: &Field) -> Result<f64> {
        let name = self.name(f.wire, f.js);
        let v = self.value(name, false, Fraction.rule())?;
        match v.and_then(Value::as_f64) {
            Some(x) if (0.0..=1.0).contains(&x) => Ok(x),
            _ => Err(invalid(self.what, &self.path(name), Fraction.rule(), v)),
        }
    }

    fn u32_list(&self, f: &Field) -> Result<Option<Vec<u32>>> {
        let name = self.name(f.wire, f.js);
        let Some(v) = self.value(name, true, U32List.rule())? else {
            return Ok(None);
        };
        let bad = || invalid(self.what, &self.path(name), U32List.rule(), Some(v));
        let arr = v.as_array().ok_or_else(bad)?;
        arr.iter()
            .map(|x| int_of(x, u32::MAX as f64).map(|n| n as u32).ok_or_else(bad))
            .collect::<Result<Vec<u32>>>()
            .map(Some)
    }

    fn i64(&self, wire: &'static str, js: &'static str) -> Result<i64> {
        const RULE: &str = "must be an integer (i64)";
        let name = self.name(wire, js);
        let v = self.value(name, false, RULE)?.expect("required");
        let n = match v {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|x| x.fract() == 0.0 && x.abs() < 9.2e18)
                    .map(|x| x as i64)
            }),
            // JS cannot hold every i64 in a number, so it may pass a decimal string.
            Value::String(s) if self.naming == Naming::Js => s.parse::<i64>().ok(),
            _ => None,
        };
        n.ok_or_else(|| invalid(self.what, &self.path(name), RULE, Some(v)))
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A non-negative integer up to `max`; integral floats count (JSON writers may say `5.0`).
fn int_of(v: &Value, max: f64) -> Option<u64> {
    let n = v.as_number()?;
    if let Some(u) = n.as_u64() {
        return (u as f64 <= max).then_some(u);
    }
    let x = n.as_f64()?;
    (x.fract() == 0.0 && x >= 0.0 && x <= max).then_some(x as u64)
}

impl ForwardPassMetrics {
    /// Validates and reads `v`; errors name the first bad field (`kv_stats.kv_active_blocks`).
    pub fn from_value(v: &Value, naming: Naming) -> Result<ForwardPassMetrics> {
        Self::read(&Reader::root("ForwardPassMetrics", v, naming)?)
    }

    fn read(r: &Reader<'_>) -> Result<ForwardPassMetrics> {
        let fl = &FIELDS;
        let w = r.group(Group::WorkerStats)?.expect("required group");
        let worker_stats = WorkerStats {
            data_parallel_rank: w.field(&fl[0])?.map(|n| n as u32),
            request_active_slots: w.field(&fl[1])?.unwrap_or_default(),
            request_total_slots: w.field(&fl[2])?.unwrap_or_default(),
            num_requests_waiting: w.field(&fl[3])?.unwrap_or_default(),
        };
        let k = r.group(Group::KvStats)?.expect("required group");
        let kv_stats = KvStats {
            kv_active_blocks: k.field(&fl[4])?.unwrap_or_default(),
            kv_total_blocks: k.field(&fl[5])?.unwrap_or_default(),
            gpu_cache_usage_perc: k.fraction(&fl[6])?,
            gpu_prefix_cache_hit_rate: k.fraction(&fl[7])?,
        };
        let spec_decode_stats = match r.group(Group::SpecDecodeStats)? {
            None => None,
            Some(s) => Some(SpecDecodeStats {
                num_spec_tokens: s.field(&fl[8])?.map(|n| n as u32),
                num_drafts: s.field(&fl[9])?.map(|n| n as u32),
                num_draft_tokens: s.field(&fl[10])?.map(|n| n as u32),
                num_accepted_tokens: s.field(&fl[11])?.map(|n| n as u32),
                num_accepted_tokens_per_pos: s.u32_list(&fl[12])?,
            }),
        };
        Ok(ForwardPassMetrics {
            worker_stats,
            kv_stats,
            spec_decode_stats,
        })
    }

    /// Dynamo's JSON (snake_case).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serializes")
    }
}

impl LoadEvent {
    /// Reads and validates one from JSON in `naming`'s spelling; the error names the field.
    pub fn from_value(v: &Value, naming: Naming) -> Result<LoadEvent> {
        let r = Reader::root("LoadEvent", v, naming)?;
        let worker_id = r.i64("worker_id", "workerId")?;
        let data = r
            .value("data", false, "must be an object")?
            .expect("required");
        let inner = match data.as_object() {
            Some(map) => Reader {
                what: "LoadEvent",
                prefix: "data.".into(),
                map,
                naming,
            },
            None => {
                return Err(invalid(
                    "LoadEvent",
                    "data",
                    "must be an object",
                    Some(data),
                ))
            }
        };
        Ok(LoadEvent {
            worker_id,
            data: ForwardPassMetrics::read(&inner)?,
        })
    }

    /// Parses NATS bytes: JSON text in Dynamo's spelling.
    pub fn from_wire(bytes: &[u8]) -> Result<LoadEvent> {
        Self::from_value(&parse_json("LoadEvent", bytes)?, Naming::Wire)
    }
}

impl KvHitRateEvent {
    /// Reads and validates one from JSON in `naming`'s spelling; the error names the field.
    pub fn from_value(v: &Value, naming: Naming) -> Result<KvHitRateEvent> {
        let r = Reader::root("KvHitRateEvent", v, naming)?;
        Ok(KvHitRateEvent {
            worker_id: r.i64("worker_id", "workerId")?,
            isl_blocks: r
                .int(
                    r.name("isl_blocks", "islBlocks"),
                    false,
                    U64,
                    u64::MAX as f64,
                )?
                .unwrap_or_default(),
            overlap_blocks: r
                .int(
                    r.name("overlap_blocks", "overlapBlocks"),
                    false,
                    U32,
                    u32::MAX as f64,
                )?
                .unwrap_or_default() as u32,
        })
    }

    /// Parses NATS bytes: JSON text in Dynamo's spelling.
    pub fn from_wire(bytes: &[u8]) -> Result<KvHitRateEvent> {
        Self::from_value(&parse_json("KvHitRateEvent", bytes)?, Naming::Wire)
    }
}

/// JSON text, or an error saying the bytes are not.
pub fn parse_json(what: &str, bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| MetricsError::new(ErrorKind::InvalidValue, format!("{what} is not JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "worker_stats": {"request_active_slots": 1, "request_total_slots": 100, "num_requests_waiting": 2},
            "kv_stats": {"kv_active_blocks": 42, "kv_total_blocks": 12894, "gpu_cache_usage_perc": 0.5, "gpu_prefix_cache_hit_rate": 0.75},
        })
    }

    #[test]
    fn reads_dynamo_json_and_writes_it_back() {
        let m = ForwardPassMetrics::from_value(&sample(), Naming::Wire).unwrap();
        assert_eq!(m.kv_stats.kv_active_blocks, 42);
        assert_eq!(m.worker_stats.data_parallel_rank, None);
        let back: Value = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(back["kv_stats"]["kv_total_blocks"], 12894);
        assert_eq!(back["spec_decode_stats"], Value::Null);
        assert_eq!(
            ForwardPassMetrics::from_value(&back, Naming::Wire).unwrap(),
            m
        );
    }

    #[test]
    fn errors_name_the_field_and_rule() {
        let mut v = sample();
        v["kv_stats"]["gpu_cache_usage_perc"] = json!(1.5);
        let e = ForwardPassMetrics::from_value(&v, Naming::Wire).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidValue);
        assert!(
            e.message.contains("'kv_stats.gpu_cache_usage_perc'"),
            "{}",
            e.message
        );
        assert!(e.message.contains("from 0 to 1"), "{}", e.message);

        let mut v = sample();
        v["worker_stats"]["num_requests_waiting"] = json!(2.5);
        let e = ForwardPassMetrics::from_value(&v, Naming::Wire).unwrap_err();
        assert!(
            e.message.contains("'worker_stats.num_requests_waiting'"),
            "{}",
            e.message
        );

        let mut v = sample();
        v["worker_stats"]["data_parallel_rank"] = json!(5_000_000_000u64);
        let e = ForwardPassMetrics::from_value(&v, Naming::Wire).unwrap_err();
        assert!(e.message.contains("u32"), "{}", e.message);

        let mut v = sample();
        v.as_object_mut().unwrap().remove("kv_stats");
        let e = ForwardPassMetrics::from_value(&v, Naming::Wire).unwrap_err();
        assert!(
            e.message.contains("'kv_stats'") && e.message.contains("missing"),
            "{}",
            e.message
        );
    }

    #[test]
    fn every_declared_field_is_checked_by_its_rule_in_both_spellings() {
        for naming in [Naming::Wire, Naming::Js] {
            for (i, fd) in FIELDS.iter().enumerate() {
                let (g, n) = match naming {
                    Naming::Wire => (fd.group.wire(), fd.wire),
                    Naming::Js => (fd.group.js(), fd.js),
                };
                let mut v = json!({});
                for other in FIELDS.iter() {
                    let (og, on) = match naming {
                        Naming::Wire => (other.group.wire(), other.wire),
                        Naming::Js => (other.group.js(), other.js),
                    };
                    let good = match other.kind {
                        Fraction => json!(0.5),
                        U32List => json!([1, 2]),
                        _ => json!(3),
                    };
                    v[og][on] = good;
                }
                v[g][n] = json!(-1);
                let e = ForwardPassMetrics::from_value(&v, naming).unwrap_err();
                assert!(
                    e.message.contains(&format!("'{g}.{n}'")),
                    "field {i}: {}",
                    e.message
                );
                if fd.optional {
                    v[g].as_object_mut().unwrap().remove(n);
                    ForwardPassMetrics::from_value(&v, naming).unwrap();
                }
            }
        }
    }

    #[test]
    fn events_parse_and_refuse_garbage() {
        let ev = json!({"worker_id": 7, "data": sample()});
        let e = LoadEvent::from_wire(ev.to_string().as_bytes()).unwrap();
        assert_eq!(e.worker_id, 7);
        assert!(LoadEvent::from_wire(b"not json")
            .unwrap_err()
            .message
            .contains("not JSON"));
        let bad = json!({"worker_id": 7, "data": {"worker_stats": {}}});
        let msg = LoadEvent::from_wire(bad.to_string().as_bytes())
            .unwrap_err()
            .message;
        assert!(
            msg.contains("'data.worker_stats.request_active_slots'"),
            "{msg}"
        );
        let h = KvHitRateEvent::from_value(
            &json!({"workerId": "9007199254740993", "islBlocks": 10, "overlapBlocks": 4}),
            Naming::Js,
        )
        .unwrap();
        assert_eq!(h.worker_id, 9007199254740993);
        let msg =
            KvHitRateEvent::from_value(&json!({"worker_id": 1, "isl_blocks": 1}), Naming::Wire)
                .unwrap_err()
                .message;
        assert!(msg.contains("'overlap_blocks'"), "{msg}");
    }
}
