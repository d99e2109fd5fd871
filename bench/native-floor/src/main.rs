//! Native text-encoding floor for the scrape benchmarks (std only).
//!
//! Renders the same Prometheus text 0.0.4 exposition the scrape cases produce into a reused
//! `Vec<u8>` and prints the median time per render as one JSON object on stdout:
//!
//! * `counter`: N counter series `name{<const>route="r<i>",status="200"} 1`
//! * `histogram`: M histogram series (11 default buckets, +Inf, _sum, _count), 3 observations each
//!
//! Two encoders per scenario: `cached` keeps each series' rendered label-set bytes (what a
//! registry that caches them can do) and `escape` escapes every label value on every render.
//!
//! Usage: native-floor [--series N] [--hseries M] [--reps R] [--const 'k="v",...'] [--prefix p]
//!        [--serve]
//!
//! `--serve`: instead of timing, print `{"port":P}` and answer `GET /counter` and
//! `GET /histogram` on 127.0.0.1:P by rendering (cached encoder, reused buffer) and writing the
//! text with `Content-Length` on the accepting thread; `GET /quit` ends it. That is the floor of a
//! scrape *over HTTP*: render plus the loopback transfer, with nothing overlapped.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Instant;

const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

struct Series {
    values: Vec<String>,
    /// Pre-rendered `k="v",k="v"` (const labels included), for the cached encoder.
    cached: Vec<u8>,
    value: f64,
}

struct HistSeries {
    values: Vec<String>,
    cached: Vec<u8>,
    counts: [f64; 12],
    sum: f64,
}

fn escape_into(out: &mut Vec<u8>, v: &str) {
    for &b in v.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

fn labels_into(out: &mut Vec<u8>, konst: &str, names: &[&str], values: &[String]) {
    out.extend_from_slice(konst.as_bytes());
    for (i, (n, v)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_into(out, v);
        out.push(b'"');
    }
}

/// Integers print without a fraction (like Go/JS); everything else uses Rust's shortest repr.
fn value_into(out: &mut Vec<u8>, v: f64) {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let mut buf = [0u8; 24];
        let mut n = v.abs() as u64;
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if v < 0.0 {
            out.push(b'-');
        }
        out.extend_from_slice(&buf[i..]);
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else {
        write!(out, "{}", v).unwrap();
    }
}

fn counter_render(out: &mut Vec<u8>, name: &str, konst: &str, series: &[Series], cached: bool) {
    out.clear();
    writeln!(out, "# HELP {} Requests\n# TYPE {} counter", name, name).unwrap();
    for s in series {
        out.extend_from_slice(name.as_bytes());
        out.push(b'{');
        if cached {
            out.extend_from_slice(&s.cached);
        } else {
            labels_into(out, konst, &["route", "status"], &s.values);
        }
        out.extend_from_slice(b"} ");
        value_into(out, s.value);
        out.push(b'\n');
    }
}

fn hist_render(out: &mut Vec<u8>, name: &str, konst: &str, series: &[HistSeries], cached: bool) {
    out.clear();
    writeln!(out, "# HELP {} Latency\n# TYPE {} histogram", name, name).unwrap();
    let les: Vec<String> = BUCKETS
        .iter()
        .map(|b| format!("{}", b))
        .chain(["+Inf".to_string()])
        .collect();
    let mut scratch = Vec::with_capacity(256);
    for s in series {
        let lbl: &[u8] = if cached {
            &s.cached
        } else {
            scratch.clear();
            labels_into(&mut scratch, konst, &["route", "status"], &s.values);
            &scratch
        };
        let mut cum = 0.0;
        for (k, le) in les.iter().enumerate() {
            cum += s.counts[k];
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"_bucket{");
            out.extend_from_slice(lbl);
            out.extend_from_slice(b",le=\"");
            out.extend_from_slice(le.as_bytes());
            out.extend_from_slice(b"\"} ");
            value_into(out, cum);
            out.push(b'\n');
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"_sum{");
        out.extend_from_slice(lbl);
        out.extend_from_slice(b"} ");
        value_into(out, s.sum);
        out.push(b'\n');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"_count{");
        out.extend_from_slice(lbl);
        out.extend_from_slice(b"} ");
        value_into(out, cum);
        out.push(b'\n');
    }
}

fn median_ms(reps: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    f(); // warm-up: sizes the buffer
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (t[t.len() / 2], t[0], t[t.len() - 1])
}

fn main() {
    let mut n = 100_000usize;
    let mut hn = 10_000usize;
    let mut reps = 15usize;
    let mut konst = String::new();
    let mut prefix = String::new();
    let mut serve_mode = false;
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        if args[i] == "--serve" {
            serve_mode = true;
            i += 1;
            continue;
        }
        match args[i].as_str() {
            "--series" => n = v.parse().expect("--series N"),
            "--hseries" => hn = v.parse().expect("--hseries N"),
            "--reps" => reps = v.parse().expect("--reps N"),
            "--const" => konst = v,
            "--prefix" => prefix = v,
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    let cname = format!("{prefix}requests_total");
    let hname = format!("{prefix}latency_seconds");

    let series: Vec<Series> = (0..n)
        .map(|i| {
            let values = vec![format!("r{i}"), "200".to_string()];
            let mut cached = Vec::new();
            labels_into(&mut cached, &konst, &["route", "status"], &values);
            Series {
                values,
                cached,
                value: 1.0,
            }
        })
        .collect();
    // Three observations per histogram series, spread over the buckets like the JS cases.
    let obs = [0.003, 0.3, 15.0];
    let hseries: Vec<HistSeries> = (0..hn)
        .map(|i| {
            let values = vec![format!("r{i}"), "200".to_string()];
            let mut cached = Vec::new();
            labels_into(&mut cached, &konst, &["route", "status"], &values);
            let mut counts = [0.0; 12];
            let mut sum = 0.0;
            for &o in &obs {
                let k = BUCKETS.iter().position(|&b| o <= b).unwrap_or(11);
                counts[k] += 1.0;
                sum += o;
            }
            HistSeries {
                values,
                cached,
                counts,
                sum,
            }
        })
        .collect();

    if serve_mode {
        serve(&cname, &hname, &konst, &series, &hseries);
        return;
    }
    let mut out: Vec<u8> = Vec::new();
    let cc = median_ms(reps, || {
        counter_render(&mut out, &cname, &konst, &series, true)
    });
    let cbytes = out.len();
    let ce = median_ms(reps, || {
        counter_render(&mut out, &cname, &konst, &series, false)
    });
    let hc = median_ms(reps, || {
        hist_render(&mut out, &hname, &konst, &hseries, true)
    });
    let hbytes = out.len();
    let he = median_ms(reps, || {
        hist_render(&mut out, &hname, &konst, &hseries, false)
    });
    std::hint::black_box(&out);
    let j = |(m, lo, hi): (f64, f64, f64)| {
        format!("{{\"median\":{m:.4},\"min\":{lo:.4},\"max\":{hi:.4}}}")
    };
    println!(
        "{{\"counter\":{{\"series\":{n},\"bytes\":{cbytes},\"cached_ms\":{},\"escape_ms\":{}}},\"histogram\":{{\"series\":{hn},\"bytes\":{hbytes},\"cached_ms\":{},\"escape_ms\":{}}},\"reps\":{reps}}}",
        j(cc),
        j(ce),
        j(hc),
        j(he)
    );
}

/// One request per connection (`Connection: close`), like a Prometheus scrape from a fresh curl.
fn serve(cname: &str, hname: &str, konst: &str, series: &[Series], hseries: &[HistSeries]) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    println!("{{\"port\":{}}}", listener.local_addr().unwrap().port());
    std::io::stdout().flush().unwrap();
    let mut out: Vec<u8> = Vec::new();
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut reader = BufReader::new(stream.try_clone().expect("clone socket"));
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            continue;
        }
        let mut header = String::new();
        while reader
            .read_line(&mut header)
            .map(|n| n > 2)
            .unwrap_or(false)
        {
            header.clear();
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("");
        match path {
            "/counter" => counter_render(&mut out, cname, konst, series, true),
            "/histogram" => hist_render(&mut out, hname, konst, hseries, true),
            "/quit" => {
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                return;
            }
            _ => {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            out.len()
        );
        let _ = stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(&out));
    }
}
