//! A JSON document read once into one flat tree: the trigger's data and a
//! contact's custom fields, which merge fields look names up in for every
//! event.
//!
//! A `serde_json::Value` costs an allocation for every key, string, object
//! and list, and a search through an ordered map for every name looked up.
//! A [`JsonTree`] keeps the text of all its strings and keys in one string
//! and its nodes in one list, so reading a trigger's data costs a few
//! allocations whatever its size, and a lookup scans an object's few keys
//! (an object of more than 16 is sorted by key when read, and searched).
//! It reads JSON exactly as `Value` does: serde_json parses it, a repeated
//! key's last value wins, and numbers keep serde_json's types.
//!
//! ```
//! use send_conversion_event::json_tree::JsonTree;
//!
//! let data = JsonTree::parse(r#"{"order": {"id": "o-1", "total": 12.5}}"#).unwrap();
//! let order = data.root().get("order").unwrap();
//! assert_eq!(order.get("id").and_then(|id| id.as_str()), Some("o-1"));
//! assert_eq!(order.get("total").unwrap().to_value(), serde_json::json!(12.5));
//! ```

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;
use std::ops::Range;

/// Objects with up to this many keys are scanned; larger ones are sorted by
/// key when read and searched.
const SCANNED_KEYS: usize = 16;

/// A parsed JSON document.
#[derive(Clone)]
pub struct JsonTree {
    /// Every node with its key (empty for a list's members and the root).
    /// The members of a list or an object are consecutive; the root is
    /// the last node.
    nodes: Vec<Entry>,
    /// The text of every string and key, unescaped, one after another.
    text: String,
}

#[derive(Debug, Clone)]
struct Entry {
    key: Range<usize>,
    node: Node,
}

#[derive(Debug, Clone)]
enum Node {
    Null,
    Bool(bool),
    Number(Number),
    /// A range of the tree's text.
    String(Range<usize>),
    /// A range of the tree's nodes.
    Array(Range<usize>),
    /// A range of the tree's nodes, each with its key.
    Object(Range<usize>),
}

/// What a node is, with its content.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json reads it.
    Number(&'a Number),
    /// A string, unescaped.
    String(&'a str),
    /// A list.
    Array,
    /// An object.
    Object,
}

/// One node of a [`JsonTree`].
#[derive(Clone, Copy)]
pub struct JsonNode<'a> {
    tree: &'a JsonTree,
    node: &'a Node,
}

impl JsonTree {
    /// Reads a JSON document; `Err` is serde_json's, with its line and
    /// column.
    pub fn parse(json: &str) -> Result<JsonTree, serde_json::Error> {
        let mut builder = Builder::with_capacity(json.len());
        let mut de = serde_json::Deserializer::from_str(json);
        let root = NodeSeed(&mut builder).deserialize(&mut de)?;
        de.end()?;
        Ok(builder.finish(root))
    }

    /// An empty object.
    pub fn empty_object() -> JsonTree {
        Builder::with_capacity(0).finish(Node::Object(0..0))
    }

    /// The document's root.
    pub fn root(&self) -> JsonNode<'_> {
        JsonNode {
            tree: self,
            node: &self.nodes.last().expect("a tree has a root").node,
        }
    }

    /// The document as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        self.root().to_value()
    }
}

impl Default for JsonTree {
    /// An empty object.
    fn default() -> Self {
        JsonTree::empty_object()
    }
}

/// Reads any JSON value, as [`JsonTree::parse`] reads a document.
impl<'de> Deserialize<'de> for JsonTree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut builder = Builder::with_capacity(0);
        let root = NodeSeed(&mut builder).deserialize(d)?;
        Ok(builder.finish(root))
    }
}

impl From<&Value> for JsonTree {
    fn from(v: &Value) -> Self {
        let mut builder = Builder::with_capacity(0);
        let root = builder.add(v);
        builder.finish(root)
    }
}

impl From<Value> for JsonTree {
    fn from(v: Value) -> Self {
        JsonTree::from(&v)
    }
}

/// Two trees are equal when their documents are, as `Value`s compare.
impl PartialEq for JsonTree {
    fn eq(&self, other: &Self) -> bool {
        self.to_value() == other.to_value()
    }
}

impl fmt::Debug for JsonTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

impl<'a> JsonNode<'a> {
    /// What the node is.
    pub fn kind(&self) -> Kind<'a> {
        match self.node {
            Node::Null => Kind::Null,
            Node::Bool(b) => Kind::Bool(*b),
            Node::Number(n) => Kind::Number(n),
            Node::String(s) => Kind::String(&self.tree.text[s.clone()]),
            Node::Array(_) => Kind::Array,
            Node::Object(_) => Kind::Object,
        }
    }

    /// The string, if the node is one.
    pub fn as_str(&self) -> Option<&'a str> {
        match self.kind() {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key`, if the node is an object that has it; a key
    /// written twice gives its last value, as `Value` does.
    pub fn get(&self, key: &str) -> Option<JsonNode<'a>> {
        let Node::Object(members) = self.node else {
            return None;
        };
        let (text, key) = (self.tree.text.as_bytes(), key.as_bytes());
        let members = &self.tree.nodes[members.clone()];
        if members.len() > SCANNED_KEYS {
            // Sorted by key when read: the last of the equal keys is the
            // one written last.
            let after = members.partition_point(|e| &text[e.key.clone()] <= key);
            return after
                .checked_sub(1)
                .map(|last| &members[last])
                .filter(|e| &text[e.key.clone()] == key)
                .map(|e| self.at(e));
        }
        // Lengths, then first bytes, rule out nearly every other key before
        // their bytes are compared.
        members
            .iter()
            .rev()
            .find(|e| {
                e.key.len() == key.len()
                    && key.first().is_none_or(|k| text[e.key.start] == *k)
                    && &text[e.key.clone()] == key
            })
            .map(|e| self.at(e))
    }

    /// The list's members in order; none if the node is not a list.
    pub fn items(&self) -> impl Iterator<Item = JsonNode<'a>> + use<'a> {
        let (tree, members) = match self.node {
            Node::Array(members) => (self.tree, &self.tree.nodes[members.clone()]),
            _ => (self.tree, &[][..]),
        };
        members.iter().map(move |e| JsonNode {
            tree,
            node: &e.node,
        })
    }

    /// The list's member at `index`.
    pub fn index(&self, index: usize) -> Option<JsonNode<'a>> {
        self.items().nth(index)
    }

    /// The node as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        match self.node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(self.tree.text[s.clone()].to_string()),
            Node::Array(_) => Value::Array(self.items().map(|n| n.to_value()).collect()),
            Node::Object(members) => {
                let mut m = Map::new();
                for e in &self.tree.nodes[members.clone()] {
                    m.insert(
                        self.tree.text[e.key.clone()].to_string(),
                        self.at(e).to_value(),
                    );
                }
                Value::Object(m)
            }
        }
    }

    fn at(&self, e: &'a Entry) -> JsonNode<'a> {
        JsonNode {
            tree: self.tree,
            node: &e.node,
        }
    }
}

impl fmt::Debug for JsonNode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

/// Two nodes are equal when their values are, as `Value`s compare.
impl PartialEq for JsonNode<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.to_value() == other.to_value()
    }
}

/// A tree as it is read: a container's members wait in `pending` until it
/// closes, then move to `nodes` together.
struct Builder {
    nodes: Vec<Entry>,
    pending: Vec<Entry>,
    text: String,
}

impl Builder {
    /// A builder for a document of `len` bytes: its unescaped text never
    /// exceeds that, so the text is allocated once. The nodes start with
    /// room for a trigger's usual dozen at most (an empty object's one)
    /// and grow as needed: sized by the text, one long string would
    /// reserve room for nodes it does not have.
    fn with_capacity(len: usize) -> Builder {
        Builder {
            nodes: Vec::with_capacity((len / 4 + 1).min(16)),
            pending: Vec::new(),
            text: String::with_capacity(len),
        }
    }

    fn push_text(&mut self, s: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }

    /// Moves the members pending since `mark` to the nodes, as one run.
    fn close(&mut self, mark: usize) -> Range<usize> {
        let start = self.nodes.len();
        self.nodes.extend(self.pending.drain(mark..));
        start..self.nodes.len()
    }

    /// [`Builder::close`] for an object's members. An object with more
    /// keys than are scanned is sorted by key (a stable sort, so that equal
    /// keys keep their order and the last written is found last), so that
    /// a lookup in it is a binary search: a trigger with thousands of keys
    /// costs each merge field a few comparisons, not one per key.
    fn close_object(&mut self, mark: usize) -> Range<usize> {
        if self.pending.len() - mark > SCANNED_KEYS {
            let text = self.text.as_bytes();
            self.pending[mark..].sort_by(|a, b| text[a.key.clone()].cmp(&text[b.key.clone()]));
        }
        self.close(mark)
    }

    fn finish(mut self, root: Node) -> JsonTree {
        self.nodes.push(Entry {
            key: 0..0,
            node: root,
        });
        JsonTree {
            nodes: self.nodes,
            text: self.text,
        }
    }

    fn add(&mut self, v: &Value) -> Node {
        match v {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.clone()),
            Value::String(s) => Node::String(self.push_text(s)),
            Value::Array(items) => {
                let mark = self.pending.len();
                for item in items {
                    let node = self.add(item);
                    self.pending.push(Entry { key: 0..0, node });
                }
                Node::Array(self.close(mark))
            }
            Value::Object(m) => {
                let mark = self.pending.len();
                for (k, item) in m {
                    let key = self.push_text(k);
                    let node = self.add(item);
                    self.pending.push(Entry { key, node });
                }
                Node::Object(self.close_object(mark))
            }
        }
    }
}

/// Reads one value into the builder.
struct NodeSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
        Ok(Node::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Node, E> {
        Ok(Node::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Node, E> {
        Ok(Node::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Node, E> {
        // As `Value` reads it: a float JSON cannot hold becomes null.
        Ok(Number::from_f64(n).map_or(Node::Null, Node::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Node, E> {
        Ok(Node::String(self.0.push_text(s)))
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let b = self.0;
        let mark = b.pending.len();
        while let Some(node) = seq.next_element_seed(NodeSeed(b))? {
            b.pending.push(Entry { key: 0..0, node });
        }
        Ok(Node::Array(b.close(mark)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let b = self.0;
        let mark = b.pending.len();
        while let Some(key) = map.next_key_seed(KeySeed(b))? {
            let node = map.next_value_seed(NodeSeed(b))?;
            b.pending.push(Entry { key, node });
        }
        Ok(Node::Object(b.close_object(mark)))
    }
}

/// Reads an object's key into the builder's text.
struct KeySeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Range<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Range<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Range<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, s: &str) -> Result<Range<usize>, E> {
        Ok(self.0.push_text(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Documents that reach every kind of node, nesting, escapes, repeated
    /// keys and numbers of each of serde_json's types.
    const DOCUMENTS: &[&str] = &[
        r#"{}"#,
        r#"[]"#,
        r#"null"#,
        r#""just text""#,
        r#"{"order": {"id": "o-1", "total": 12.5, "items": [{"sku": "A", "qty": 2}, {"sku": "B"}]}}"#,
        r#"{"a": 1, "a": 2, "b": {"a": [1, -2, 3.5, 18446744073709551615, -9223372036854775808]}}"#,
        r#"{"esc\"aped": "line\nbreak \u00e9 \ud83d\ude00", "": "", "t": true, "f": false, "n": null}"#,
        r#"[[[]], [{}], [[1, [2, [3]]]], {"x": [{"y": {"z": "deep"}}]}]"#,
        r#"{"z": 1, "y": {"b": 2, "a": 3}, "x": [], "w": {}}"#,
        // More keys than are scanned, out of order, one repeated.
        r#"{"k20": 20, "k19": 19, "k18": 18, "k17": 17, "k16": 16, "k15": 15, "k14": 14, "k13": 13, "k12": 12, "k11": 11, "k10": 10, "k09": 9, "k08": 8, "k07": 7, "k06": 6, "k05": 5, "k04": 4, "k03": 3, "k02": 2, "k01": 1, "k05": "again", "": "empty", "z": {"nested": [1, 2]}}"#,
    ];

    #[test]
    fn a_tree_reads_every_document_as_serde_json_does() {
        for doc in DOCUMENTS {
            let value: Value = serde_json::from_str(doc).unwrap();
            let tree = JsonTree::parse(doc).unwrap();
            assert_eq!(tree.to_value(), value, "{doc}");
            assert_eq!(JsonTree::from(&value).to_value(), value, "{doc}");
            let read: JsonTree = serde_json::from_str(doc).unwrap();
            assert_eq!(read.to_value(), value, "{doc}");
        }
    }

    #[test]
    fn lookups_answer_as_value_does() {
        let doc = DOCUMENTS[5];
        let value: Value = serde_json::from_str(doc).unwrap();
        let tree = JsonTree::parse(doc).unwrap();
        let root = tree.root();
        assert_eq!(
            root.get("a").unwrap().to_value(),
            value["a"],
            "last key wins"
        );
        assert_eq!(root.get("a").unwrap().to_value(), json!(2));
        let list = root.get("b").unwrap().get("a").unwrap();
        assert_eq!(list.kind(), Kind::Array);
        for (i, want) in value["b"]["a"].as_array().unwrap().iter().enumerate() {
            assert_eq!(&list.index(i).unwrap().to_value(), want, "member {i}");
        }
        assert!(list.index(5).is_none());
        assert!(root.get("missing").is_none());
        assert!(root.get("b").unwrap().get("").is_none());
        assert!(list.get("a").is_none(), "a list has no keys");
        assert_eq!(root.items().count(), 0, "an object has no list members");

        let escaped = JsonTree::parse(DOCUMENTS[6]).unwrap();
        let root = escaped.root();
        assert_eq!(
            root.get("esc\"aped").and_then(|n| n.as_str()),
            Some("line\nbreak é 😀")
        );
        assert_eq!(root.get("").and_then(|n| n.as_str()), Some(""));
        assert_eq!(root.get("t").unwrap().kind(), Kind::Bool(true));
        assert_eq!(root.get("n").unwrap().kind(), Kind::Null);
    }

    /// Texts made from the documents above by random edits (a character
    /// inserted, removed or replaced, a piece repeated): most are not JSON,
    /// many are JSON of another shape. The tree must accept exactly what
    /// serde_json accepts and read it to the same value, and every key of
    /// an object must look up as serde_json's map has it.
    #[test]
    fn edited_documents_are_read_as_serde_json_reads_them() {
        const ALPHABET: &[char] = &[
            '{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', '1', '9', '-', '.', 'e', 'E', '+',
            ' ', 'a', 't', 'n', 'l', 'é', '😀', '\n',
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut text: Vec<char> = DOCUMENTS[next(DOCUMENTS.len())].chars().collect();
            for _ in 0..1 + next(3) {
                let at = next(text.len() + 1);
                match next(4) {
                    0 => text.insert(at, ALPHABET[next(ALPHABET.len())]),
                    1 if at < text.len() => {
                        text.remove(at);
                    }
                    2 if at < text.len() => text[at] = ALPHABET[next(ALPHABET.len())],
                    _ => {
                        let end = (at + next(8)).min(text.len());
                        let piece: Vec<char> = text[at..end].to_vec();
                        text.splice(at..at, piece);
                    }
                }
            }
            let text: String = text.into_iter().collect();
            let value = serde_json::from_str::<Value>(&text);
            let tree = JsonTree::parse(&text);
            assert_eq!(value.is_ok(), tree.is_ok(), "{text:?}");
            let (Ok(value), Ok(tree)) = (value, tree) else {
                refused += 1;
                continue;
            };
            accepted += 1;
            assert_eq!(tree.to_value(), value, "{text:?}");
            if let Value::Object(m) = &value {
                for (k, v) in m {
                    let found = tree.root().get(k).map(|n| n.to_value());
                    assert_eq!(found.as_ref(), Some(v), "{k:?} in {text:?}");
                }
            }
        }
        assert!(accepted > 1_000 && refused > 1_000, "{accepted} {refused}");
    }

    #[test]
    fn an_object_of_thousands_of_keys_answers_as_value_does() {
        // Keys in no order, some written twice, some prefixes of others.
        let mut members = Vec::new();
        for i in 0..5_000u32 {
            let k = (i * 7_919) % 5_000;
            members.push(format!(r#""key{k}": {i}"#));
            if i % 97 == 0 {
                members.push(format!(r#""key{k}": "again {i}""#));
                members.push(format!(r#""key{k}x": {i}"#));
            }
        }
        let doc = format!("{{{}}}", members.join(", "));
        let value: Value = serde_json::from_str(&doc).unwrap();
        let tree = JsonTree::parse(&doc).unwrap();
        assert_eq!(tree.to_value(), value);
        let root = tree.root();
        for (k, v) in value.as_object().unwrap() {
            assert_eq!(root.get(k).map(|n| n.to_value()).as_ref(), Some(v), "{k}");
        }
        for absent in ["", "key", "key5000", "kez1", "key12y", "zzz"] {
            assert!(root.get(absent).is_none(), "{absent}");
        }
    }

    #[test]
    fn what_serde_json_refuses_the_tree_refuses() {
        for bad in [
            "",
            "{",
            r#"{"a": }"#,
            "[1,]",
            "{} {}",
            r#"{"a": 1} x"#,
            "nul",
            "\"\\x\"",
        ] {
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
            assert!(JsonTree::parse(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(serde_json::from_str::<Value>(&deep).is_err());
        assert!(JsonTree::parse(&deep).is_err(), "the same depth limit");
    }

    #[test]
    fn an_empty_tree_is_an_empty_object() {
        assert_eq!(JsonTree::default().to_value(), json!({}));
        assert_eq!(JsonTree::default(), JsonTree::from(json!({})));
        assert_ne!(JsonTree::default(), JsonTree::from(json!({"a": 1})));
    }
}
