//! Parser for the small filter language (PocketBase-like) that plugins send to the host.
//! It only builds an AST: values are never spliced into SQL text, the host binds them as
//! parameters later. The limits keep a hostile plugin from making the host do unbounded work.

use std::fmt;

const MAX_INPUT_LEN: usize = 4096;
const MAX_DEPTH: usize = 32;
const MAX_COMPARISONS: usize = 256;
const MAX_IDENT_LEN: usize = 64;

/// Right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Integer(i64),
    Bool(bool),
    Null,
    /// `{:name}`: the value comes from the separately supplied JSON object.
    Param(String),
    /// Only accepted with `in` / `!in`; elements are never lists themselves.
    List(Vec<Operand>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp { Eq, Ne, Lt, Le, Gt, Ge, Contains, NotContains, In, NotIn }

/// `And` / `Or` always hold at least two children and never directly contain their own kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cmp { field: String, op: CmpOp, value: Operand },
}

/// `position` is a byte offset into the input, always on a char boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.position, self.message)
    }
}

impl std::error::Error for FilterError {}

impl Expr {
    /// Every field name the expression mentions, in order of appearance, duplicates kept
    /// (one entry per comparison); dedupe before checking against a schema if needed.
    pub fn fields(&self) -> Vec<&str> {
        let (mut out, mut stack) = (Vec::new(), vec![self]);
        while let Some(e) = stack.pop() {
            match e {
                Expr::And(v) | Expr::Or(v) => stack.extend(v.iter().rev()),
                Expr::Not(e) => stack.push(e),
                Expr::Cmp { field, .. } => out.push(field.as_str()),
            }
        }
        out
    }
}

/// Operator spellings, index-aligned with `OPS`.
const SYMS: [&str; 10] = ["=", "!=", "<", "<=", ">", ">=", "~", "!~", "in", "!in"];
const OPS: [CmpOp; 10] = {
    use CmpOp::*;
    [Eq, Ne, Lt, Le, Gt, Ge, Contains, NotContains, In, NotIn]
};

type R<T> = Result<T, FilterError>;

fn fail<T>(position: usize, message: impl Into<String>) -> R<T> {
    let message = message.into();
    Err(FilterError { position, message })
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Parses a filter; blank (whitespace-only) input means "no filter" and yields `Ok(None)`.
pub fn parse(input: &str) -> Result<Option<Expr>, FilterError> {
    if input.len() > MAX_INPUT_LEN {
        let n = input.len();
        let msg = format!("filter is too long: {n} bytes (maximum {MAX_INPUT_LEN})");
        return fail(0, msg);
    }
    if input.trim_ascii().is_empty() {
        return Ok(None);
    }
    let mut p = Parser::default();
    p.src = input;
    let expr = p.chain(true)?;
    p.ws();
    let msg = format!("expected '&&', '||' or end of input, found {}", p.found());
    match p.peek() {
        None => Ok(Some(expr)),
        Some(b')') => fail(p.pos, "unmatched ')'"),
        Some(_) => fail(p.pos, msg),
    }
}

/// Recursive-descent parser over bytes: every token is ASCII, so token boundaries are
/// char boundaries; only string bodies walk whole chars. Slicing goes through `get`
/// anyway so that no input can make it panic.
#[derive(Default)]
struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    cmps: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    /// Skips bytes matching `f` (an ASCII-only predicate) and returns them.
    fn take(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.src.get(start..self.pos).unwrap_or("")
    }

    fn ws(&mut self) {
        self.take(|c| c.is_ascii_whitespace());
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.ws();
        let ok = self.rest().starts_with(tok);
        self.pos += if ok { tok.len() } else { 0 };
        ok
    }

    /// What sits at the current position, for error messages.
    fn found(&self) -> String {
        let c = self.rest().chars().next();
        c.map_or_else(|| "end of input".to_string(), |c| format!("{c:?}"))
    }

    /// `or := and ("||" and)*` when `or`, else `and := unary ("&&" unary)*`;
    /// same-kind children (from parentheses) are flattened in.
    fn chain(&mut self, or: bool) -> R<Expr> {
        let mut items = Vec::new();
        loop {
            match if or { self.chain(false) } else { self.unary() }? {
                Expr::Or(v) if or => items.extend(v),
                Expr::And(v) if !or => items.extend(v),
                e => items.push(e),
            }
            if !self.eat(if or { "||" } else { "&&" }) {
                break;
            }
        }
        Ok(match items.len() {
            1 => items.swap_remove(0),
            _ if or => Expr::Or(items),
            _ => Expr::And(items),
        })
    }

    fn unary(&mut self) -> R<Expr> {
        self.ws();
        let start = self.pos;
        let Some(c @ (b'!' | b'(')) = self.peek() else {
            return self.comparison();
        };
        // Both '!' and '(' recurse, so both count towards the depth limit.
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let msg = format!("expression is nested too deeply (maximum depth {MAX_DEPTH})");
            return fail(start, msg);
        }
        self.pos += 1;
        let e = if c == b'!' {
            Expr::Not(Box::new(self.unary()?))
        } else {
            let inner = self.chain(true)?;
            if !self.eat(")") {
                let found = self.found();
                let msg = format!("expected ')' to close the '(' at {start}, found {found}");
                return fail(self.pos, msg);
            }
            inner
        };
        self.depth -= 1;
        Ok(e)
    }

    /// Reads a field name (`lower`: `[a-z_][a-z0-9_]*`) or a parameter name (`[A-Za-z_]...`).
    fn name(&mut self, what: &str, lower: bool) -> R<&'a str> {
        let (start, found) = (self.pos, self.found());
        let word = self.take(is_ident);
        let pattern = ["[A-Za-z_][A-Za-z0-9_]*", "[a-z_][a-z0-9_]*"][lower as usize];
        let bad_case = lower && word.bytes().any(|c| c.is_ascii_uppercase());
        if word.is_empty() {
            fail(start, format!("expected a {what}, found {found}"))
        } else if bad_case || word.len() > MAX_IDENT_LEN || word.as_bytes()[0].is_ascii_digit() {
            let msg = format!("invalid {what} {word:?}: use {pattern}, max {MAX_IDENT_LEN} chars");
            fail(start, msg)
        } else {
            Ok(word)
        }
    }

    fn comparison(&mut self) -> R<Expr> {
        let start = self.pos;
        let field = self.name("field name", true)?;
        self.cmps += 1;
        if self.cmps > MAX_COMPARISONS {
            let msg = format!("too many comparisons (maximum {MAX_COMPARISONS})");
            return fail(start, msg);
        }
        // Read the whole operator token so that "==", "<>" or "index" are reported as such.
        self.ws();
        let (op_pos, found) = (self.pos, self.found());
        let sym = self.take(|c| b"!<>=~".contains(&c));
        if sym.is_empty() || sym == "!" {
            self.take(is_ident);
        }
        let tok = self.src.get(op_pos..self.pos).unwrap_or("");
        let Some((_, op)) = SYMS.into_iter().zip(OPS).find(|(s, _)| *s == tok) else {
            let what = if tok == "" { found } else { format!("{tok:?}") };
            let msg = format!("expected an operator after field \"{field}\", found {what}");
            return fail(op_pos, msg);
        };
        self.ws();
        let val_pos = self.pos;
        let value = self.operand(true, &format!("after '{tok}'"))?;
        use {CmpOp as C, Operand as O};
        let problem = match (op, &value) {
            (C::In | C::NotIn, O::List(_) | O::Param(_)) => None,
            (C::In | C::NotIn, _) => Some("needs a list such as [1, 2] or a parameter"),
            (C::Contains | C::NotContains, O::Text(_) | O::Param(_)) => None,
            (C::Contains | C::NotContains, _) => Some("needs a string or a parameter"),
            (_, O::List(_)) => Some("does not accept a list (only 'in' and '!in' do)"),
            _ => None,
        };
        let field = field.to_string();
        match problem {
            Some(p) => fail(val_pos, format!("operator '{tok}' {p}")),
            None => Ok(Expr::Cmp { field, op, value }),
        }
    }

    /// `context` completes the "expected a value ..." message.
    fn operand(&mut self, allow_list: bool, context: &str) -> R<Operand> {
        self.ws();
        let (start, found) = (self.pos, self.found());
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => self.string(q as char),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b'{') => self.param(),
            Some(b'[') if allow_list => self.list(),
            Some(b'[') => fail(start, "lists cannot be nested"),
            Some(c) if is_ident(c) => match self.take(is_ident) {
                "true" => Ok(Operand::Bool(true)),
                "false" => Ok(Operand::Bool(false)),
                "null" => Ok(Operand::Null),
                w => fail(start, format!("unexpected word {w:?} (quote text)")),
            },
            _ => fail(start, format!("expected a value {context}, found {found}")),
        }
    }

    fn string(&mut self, quote: char) -> R<Operand> {
        let start = self.pos;
        let mut out = String::new();
        let mut chars = self.rest().char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            out.push(match c {
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\'' | '\\'))) => e,
                    Some((_, 'n')) => '\n',
                    Some((_, 't')) => '\t',
                    Some((_, e)) => {
                        let msg = format!("unsupported escape '\\{e}' (use \\\" \\' \\\\ \\n \\t)");
                        return fail(start + i, msg);
                    }
                    None => break,
                },
                c if c == quote => {
                    self.pos = start + i + 1;
                    return Ok(Operand::Text(out));
                }
                c => c,
            });
        }
        fail(start, "unterminated string (missing closing quote)")
    }

    fn integer(&mut self) -> R<Operand> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = self.take(|c| c.is_ascii_digit());
        let found = self.found();
        let text = self.src.get(start..self.pos).unwrap_or("");
        let msg = if digits.is_empty() {
            format!("expected digits after '-', found {found}")
        } else if self.peek() == Some(b'.') {
            return fail(start, "floating-point numbers are not supported");
        } else if self.peek().is_some_and(is_ident) {
            format!("unexpected {found} right after the number {text}")
        } else {
            let msg = format!("integer {text} does not fit in 64 bits");
            return text.parse().map(Operand::Integer).or(fail(start, msg));
        };
        fail(self.pos, msg)
    }

    fn param(&mut self) -> R<Operand> {
        if !self.rest().starts_with("{:") {
            return fail(self.pos, "expected a parameter such as {:name}");
        }
        self.pos += 2;
        let name = self.name("parameter name", false)?;
        if self.peek() != Some(b'}') {
            let found = self.found();
            let msg = format!("expected '}}' after parameter \"{name}\", found {found}");
            return fail(self.pos, msg);
        }
        self.pos += 1;
        Ok(Operand::Param(name.to_string()))
    }

    fn list(&mut self) -> R<Operand> {
        let start = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        while !self.eat("]") {
            if !items.is_empty() && !self.eat(",") {
                let found = self.found();
                let msg = format!("expected ',' or ']' in list opened at {start}, found {found}");
                return fail(self.pos, msg);
            }
            items.push(self.operand(false, "in list")?);
        }
        Ok(Operand::List(items))
    }
}
