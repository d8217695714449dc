//! Canonical JSON: the bytes a signature covers, independent of how a
//! serializer happens to order keys or space things out.
//!
//! Objects' keys are sorted by their UTF-8 bytes, with no whitespace
//! anywhere; strings are written with the minimal JSON escapes (`"`, `\`
//! and control characters as `\u00XX` except `\b \f \n \r \t`); numbers as
//! `serde_json` writes them (integers in decimal, floats in their shortest
//! round-trip form). A document is canonical when it equals its own
//! canonical form.

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
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
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
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
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
}
