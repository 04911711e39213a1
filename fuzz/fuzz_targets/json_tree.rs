//! Any text: the flat JSON tree reads it exactly as `serde_json::Value`
//! does, refusing what it refuses, and every lookup answers as `Value`'s.
#![no_main]

use libfuzzer_sys::fuzz_target;
use send_conversion_event::json_tree::JsonTree;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let value = serde_json::from_str::<Value>(text);
    let tree = JsonTree::parse(text);
    assert_eq!(value.is_ok(), tree.is_ok(), "{text:?}");
    let (Ok(value), Ok(tree)) = (value, tree) else { return };
    assert_eq!(tree.to_value(), value);
    if let Value::Object(m) = &value {
        for (k, v) in m {
            assert_eq!(tree.root().get(k).map(|n| n.to_value()).as_ref(), Some(v));
        }
    }
});
