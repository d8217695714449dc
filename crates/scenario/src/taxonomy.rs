//! The protocol's behaviour classes, by id, as scenario manifests name
//! them ([`formats::ClassId`] is the type).

pub const CLASSES: [&str; formats::ClassId::ALL.len()] = {
    let mut out = [""; formats::ClassId::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = formats::ClassId::ALL[i].as_str();
        i += 1;
    }
    out
};

pub fn is_class(id: &str) -> bool {
    id.parse::<formats::ClassId>().is_ok()
}
