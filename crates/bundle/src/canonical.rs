//! Canonical JSON: the bytes a signature covers, independent of how a
//! serializer happens to order keys or space things out. RFC 8785, the
//! JSON Canonicalization Scheme (JCS), so that a verifier in any language
//! with a JCS encoder gets the same bytes:
//!
//! - no whitespace; objects' members sorted by their names' UTF-16 code
//!   units;
//! - strings with the minimal escapes (`\"`, `\\`, `\b \f \n \r \t`, other
//!   control characters as `\u00xx`), everything else as UTF-8;
//! - numbers as ECMAScript writes them (`Number.prototype.toString`):
//!   integers in decimal, others in their shortest round-trip digits, in
//!   exponent form (`1e+30`, `1e-7`) outside [1e-6, 1e21).
//!
//! A document is canonical when it equals its own canonical form. Integers
//! are written as parsed; JCS expects them to be exact as doubles (below
//! 2^53), which is why a bundle writes seeds as strings.

use serde_json::Value;

/// The canonical bytes of a JSON value.
pub fn to_vec(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(v, &mut out);
    out
}

/// What a signed document's signature covers: the canonical bytes of the
/// document without its `signature` member.
pub fn signed_bytes(doc: &Value) -> Vec<u8> {
    match doc {
        Value::Object(map) if map.contains_key("signature") => {
            let mut unsigned = map.clone();
            unsigned.remove("signature");
            to_vec(&Value::Object(unsigned))
        }
        other => to_vec(other),
    }
}

fn write(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(number(n).as_bytes()),
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(k, out);
                out.push(b':');
                write(&map[k], out);
            }
            out.push(b'}');
        }
    }
}

/// A number as ECMAScript's `Number.prototype.toString` writes it.
fn number(n: &serde_json::Number) -> String {
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    es_number(n.as_f64().expect("a JSON number is an integer or a double"))
}

/// ECMA-262's Number::toString(x) for a finite double: the shortest
/// digits that read back as x, placed by its exponent.
pub fn es_number(x: f64) -> String {
    assert!(x.is_finite(), "JSON has no {x}");
    if x == 0.0 {
        return "0".into();
    }
    if x < 0.0 {
        return format!("-{}", es_number(-x));
    }
    let (digits, n) = shortest(x);
    let k = digits.len() as i32;
    if k <= n && n <= 21 {
        digits + &"0".repeat((n - k) as usize)
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let sign = if n - 1 < 0 { '-' } else { '+' };
        let e = (n - 1).abs();
        match k {
            1 => format!("{digits}e{sign}{e}"),
            _ => format!("{}.{}e{sign}{e}", &digits[..1], &digits[1..]),
        }
    }
}

/// The digits ECMAScript writes for x > 0, and n with x ≈ 0.digits × 10^n:
/// as few digits as read back as x (Rust's shortest form tells how many),
/// and of those the nearest to x, ties to even, as ECMA-262 asks (Rust
/// breaks such ties upward: 1424953923781206.25 is `…206.3` there, and
/// `…206.2` in ECMAScript).
fn shortest(x: f64) -> (String, i32) {
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').expect("scientific notation");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let e: i32 = exp.parse().expect("an exponent");
    let k = digits.len();
    // Unless a neighbour of the same length also reads back as x, Rust's
    // digits are the only candidates, and nothing else is needed.
    let reads_back = |d: &str| {
        let m = if d.len() > 1 { format!("{}.{}", &d[..1], &d[1..]) } else { d.to_owned() };
        format!("{m}e{e}").parse::<f64>().ok() == Some(x)
    };
    let neighbour = |step: i8| {
        let last = i8::try_from(digits.as_bytes()[k - 1] - b'0').ok()? + step;
        (0..=9).contains(&last).then(|| format!("{}{last}", &digits[..k - 1]))
    };
    if ![neighbour(-1), neighbour(1)].into_iter().flatten().any(|d| reads_back(&d)) {
        return (digits, e + 1);
    }
    // Every double is a finite decimal of at most 767 significant digits.
    let exact = format!("{x:.800e}");
    let (mantissa, exp) = exact.split_once('e').expect("scientific notation");
    let all: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    let mut n = exp.parse::<i32>().expect("an exponent") + 1;
    let (kept, rest) = all.split_at(k);
    let mut kept = kept.to_vec();
    let up = match rest.first() {
        Some(&d) if d > 5 => true,
        Some(&5) if rest[1..].iter().any(|&d| d > 0) => true,
        Some(&5) => kept.last().is_some_and(|d| d % 2 == 1),
        _ => false,
    };
    if up {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, 1);
                kept.pop();
                n += 1;
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    while kept.len() > 1 && kept.last() == Some(&0) {
        kept.pop();
    }
    (kept.iter().map(|d| char::from(b'0' + d)).collect(), n)
}

fn string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::to_vec;

    #[test]
    fn independent_of_key_order_and_spacing() {
        let a: serde_json::Value = serde_json::from_str(
            r#"{ "b": [1, 2.5, {"z": null, "a": true}], "a": "x\ny\u0001é" }"#,
        )
        .unwrap();
        let b = json!({"a": "x\ny\u{1}é", "b": [1, 2.5, {"a": true, "z": null}]});
        assert_eq!(to_vec(&a), to_vec(&b));
        assert_eq!(
            String::from_utf8(to_vec(&a)).unwrap(),
            "{\"a\":\"x\\ny\\u0001é\",\"b\":[1,2.5,{\"a\":true,\"z\":null}]}"
        );
        // Canonical bytes parse back to the same value, and are their own
        // canonical form.
        let again: serde_json::Value = serde_json::from_slice(&to_vec(&a)).unwrap();
        assert_eq!(again, a);
        assert_eq!(to_vec(&again), to_vec(&a));
    }

    /// The JCS examples of RFC 8785 and of its reference implementation's
    /// test data (`values.json`, `weird.json`).
    #[test]
    fn rfc_8785_examples() {
        let values: serde_json::Value = serde_json::from_str(
            r#"{"numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],
                "escaping": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
                "literals": [null, true, false]}"#,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(to_vec(&values)).unwrap(),
            r#"{"escaping":"€$\u000f\nA'B\"\\\\\"/","literals":[null,true,false],"numbers":[1e+30,4.5,333333333.3333333,0.002,1e-27]}"#
        );
        let weird: serde_json::Value = serde_json::from_str(
            r#"{"\u20ac": "Euro Sign", "1": "One", "\u0080": "Control\u007f",
                "\ud83d\ude02": "Smiley", "\u00f6": "Latin Small Letter O With Diaeresis",
                "\ufb33": "Hebrew Letter Dalet With Dagesh", "</script>": "Browser Challenge"}"#,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(to_vec(&weird)).unwrap(),
            "{\"1\":\"One\",\"</script>\":\"Browser Challenge\",\"\u{80}\":\"Control\u{7f}\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😂\":\"Smiley\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    /// RFC 8785, appendix B: doubles by their bits, and how ECMAScript
    /// writes them.
    #[test]
    fn rfc_8785_numbers() {
        for (bits, want) in [
            (0x0000000000000000u64, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ] {
            assert_eq!(super::es_number(f64::from_bits(bits)), want, "{bits:#018x}");
        }
    }
}
