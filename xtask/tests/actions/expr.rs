//! GitHub Actions expressions (`${{ … }}` and `if:`), the part the generated
//! workflows use: contexts (`github`, `env`, `matrix`, `needs`, `steps`,
//! `runner`, `job`), literals, `!`, `==`, `!=`, `&&`, `||`, and the functions
//! `fromJSON`, `toJSON`, `contains`, `startsWith`, `endsWith`, `format`,
//! `hashFiles`, `success`, `failure`, `always`, `cancelled`. Anything else is
//! an error, so a workflow never passes by being half understood.

use std::path::Path;

use serde_json::Value;

const CONTEXTS: &[&str] = &[
    "github", "env", "matrix", "needs", "steps", "runner", "job", "secrets", "inputs", "vars",
    "strategy", "jobs",
];

/// `text` with every `${{ expr }}` replaced by its value; a text that is one
/// expression and nothing else keeps the value's type (`fromJSON` gives an object).
pub fn interpolate(text: &str, ctx: &Value) -> Result<Value, String> {
    let trimmed = text.trim();
    if let Some(inner) = trimmed
        .strip_prefix("${{")
        .and_then(|t| t.strip_suffix("}}"))
        && !inner.contains("${{")
    {
        return eval(inner, ctx);
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("`${{{{` without `}}}}` in `{text}`"))?;
        out.push_str(&to_string(&eval(&after[..end], ctx)?));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

/// An `if:` condition, with or without `${{ }}`. As on GitHub, one that
/// calls no status function (`success()`, `failure()`, `always()`,
/// `cancelled()`) holds only while everything before it succeeded: "a
/// default status check of success() is applied".
pub fn condition(text: &str, ctx: &Value) -> Result<bool, String> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix("${{")
        .and_then(|t| t.strip_suffix("}}"))
        .unwrap_or(trimmed);
    let holds = truthy(&eval(inner, ctx)?);
    let checks_status = ["success(", "failure(", "always(", "cancelled("]
        .iter()
        .any(|f| inner.contains(f));
    let succeeded = ctx["job"]["status"].as_str().unwrap_or("success") == "success";
    Ok(holds && (checks_status || succeeded))
}

/// How a value reads inside a string.
pub fn to_string(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

pub fn eval(src: &str, ctx: &Value) -> Result<Value, String> {
    let tokens = tokenize(src)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        ctx,
        src,
    };
    let value = parser.or()?;
    if parser.pos != parser.tokens.len() {
        return Err(format!(
            "the replay does not understand `{src}` (stopped at token {})",
            parser.pos
        ));
    }
    Ok(value)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Num(f64),
    Op(&'static str),
}

fn tokenize(src: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unterminated string in `{src}`")),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        s.push(*c);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Str(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push(Token::Num(
                text.parse().map_err(|_| format!("bad number `{text}`"))?,
            ));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '-')
            {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = ["==", "!=", "&&", "||", "<=", ">="]
                .into_iter()
                .find(|op| *op == two)
                .or_else(|| {
                    ["!", "(", ")", "[", "]", ".", ",", "<", ">"]
                        .into_iter()
                        .find(|op| op.starts_with(c))
                });
            let Some(op) = op else {
                return Err(format!("the replay does not understand `{c}` in `{src}`"));
            };
            i += op.len();
            tokens.push(Token::Op(op));
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    ctx: &'a Value,
    src: &'a str,
}

impl Parser<'_> {
    fn peek_op(&self, op: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Op(o)) if *o == op)
    }

    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.peek_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected `{op}` in `{}`", self.src))
        }
    }

    fn or(&mut self) -> Result<Value, String> {
        let mut left = self.and()?;
        while self.peek_op("||") {
            self.pos += 1;
            let right = self.and()?;
            left = if truthy(&left) { left } else { right };
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Value, String> {
        let mut left = self.compare()?;
        while self.peek_op("&&") {
            self.pos += 1;
            let right = self.compare()?;
            left = if truthy(&left) { right } else { left };
        }
        Ok(left)
    }

    fn compare(&mut self) -> Result<Value, String> {
        let left = self.unary()?;
        for op in ["==", "!="] {
            if self.peek_op(op) {
                self.pos += 1;
                let right = self.unary()?;
                let same = loose_eq(&left, &right);
                return Ok(Value::Bool(if op == "==" { same } else { !same }));
            }
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Value, String> {
        if self.peek_op("!") {
            self.pos += 1;
            return Ok(Value::Bool(!truthy(&self.unary()?)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Value, String> {
        let mut value = self.primary()?;
        loop {
            if self.peek_op(".") {
                self.pos += 1;
                let Some(Token::Ident(name)) = self.tokens.get(self.pos).cloned() else {
                    return Err(format!("expected a property name in `{}`", self.src));
                };
                self.pos += 1;
                value = value.get(&name).cloned().unwrap_or(Value::Null);
            } else if self.peek_op("[") {
                self.pos += 1;
                let index = self.or()?;
                self.expect("]")?;
                value = match (&value, &index) {
                    (Value::Array(a), Value::Number(n)) => a
                        .get(n.as_u64().unwrap_or(u64::MAX) as usize)
                        .cloned()
                        .unwrap_or(Value::Null),
                    (Value::Object(o), i) => o.get(&to_string(i)).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
            } else {
                return Ok(value);
            }
        }
    }

    fn primary(&mut self) -> Result<Value, String> {
        let token = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or_else(|| format!("`{}` ends early", self.src))?;
        self.pos += 1;
        match token {
            Token::Str(s) => Ok(Value::String(s)),
            Token::Num(n) => Ok(serde_json::json!(n)),
            Token::Op("(") => {
                let value = self.or()?;
                self.expect(")")?;
                Ok(value)
            }
            Token::Ident(name) if self.peek_op("(") => {
                self.pos += 1;
                let mut args = Vec::new();
                if !self.peek_op(")") {
                    loop {
                        args.push(self.or()?);
                        if !self.peek_op(",") {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                self.expect(")")?;
                call(&name, &args, self.ctx)
            }
            Token::Ident(name) => match name.as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                "null" => Ok(Value::Null),
                context if CONTEXTS.contains(&context) => {
                    Ok(self.ctx.get(context).cloned().unwrap_or(Value::Null))
                }
                other => Err(format!(
                    "the replay knows no context `{other}` (in `{}`)",
                    self.src
                )),
            },
            Token::Op(op) => Err(format!("unexpected `{op}` in `{}`", self.src)),
        }
    }
}

/// GitHub's `==`: strings compare without case, other types as numbers.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => a == b,
        _ => {
            let num = |v: &Value| match v {
                Value::Null => 0.0,
                Value::Bool(b) => f64::from(u8::from(*b)),
                Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                Value::String(s) if s.trim().is_empty() => 0.0,
                Value::String(s) => s.trim().parse().unwrap_or(f64::NAN),
                _ => f64::NAN,
            };
            num(a) == num(b)
        }
    }
}

fn call(name: &str, args: &[Value], ctx: &Value) -> Result<Value, String> {
    let status = ctx["job"]["status"].as_str().unwrap_or("success");
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let text = |i: usize| to_string(&arg(i));
    match name {
        "success" => Ok(Value::Bool(status == "success")),
        "failure" => Ok(Value::Bool(status == "failure")),
        "always" => Ok(Value::Bool(true)),
        "cancelled" => Ok(Value::Bool(false)),
        "fromJSON" => {
            serde_json::from_str(&text(0)).map_err(|e| format!("fromJSON(`{}`): {e}", text(0)))
        }
        "toJSON" => Ok(Value::String(
            serde_json::to_string_pretty(&arg(0)).expect("JSON"),
        )),
        "contains" => Ok(Value::Bool(match arg(0) {
            Value::Array(items) => items.iter().any(|i| loose_eq(i, &arg(1))),
            v => to_string(&v)
                .to_lowercase()
                .contains(&text(1).to_lowercase()),
        })),
        "startsWith" => Ok(Value::Bool(
            text(0).to_lowercase().starts_with(&text(1).to_lowercase()),
        )),
        "endsWith" => Ok(Value::Bool(
            text(0).to_lowercase().ends_with(&text(1).to_lowercase()),
        )),
        "format" => {
            let mut out = text(0);
            for (i, a) in args.iter().enumerate().skip(1) {
                out = out.replace(&format!("{{{}}}", i - 1), &to_string(a));
            }
            Ok(Value::String(out))
        }
        "hashFiles" => {
            let workspace = ctx["github"]["workspace"].as_str().unwrap_or(".");
            let mut all = Vec::new();
            let mut matched = false;
            for pattern in args.iter().map(to_string) {
                if pattern.contains(['*', '?', '[']) {
                    return Err(format!(
                        "hashFiles(`{pattern}`): the replay takes plain paths only"
                    ));
                }
                if let Ok(bytes) = std::fs::read(Path::new(workspace).join(&pattern)) {
                    matched = true;
                    all.extend(bytes);
                }
            }
            // As on GitHub: no file matched, no hash.
            if !matched {
                return Ok(Value::String(String::new()));
            }
            use sha2::Digest;
            let digest = sha2::Sha256::digest(&all);
            Ok(Value::String(
                digest.iter().map(|b| format!("{b:02x}")).collect(),
            ))
        }
        other => Err(format!("the replay knows no function `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_expressions_the_workflows_use() {
        let ctx = json!({
            "github": {"workflow": "Release", "ref": "refs/tags/v1.0.0"},
            "needs": {"plan": {"outputs": {"publish": "true", "matrix": "{\"include\":[{\"target\":\"t\"}]}"}}},
            "matrix": {"target": "x86_64"},
            "runner": {"os": "Linux"},
            "job": {"status": "success"},
        });
        assert_eq!(
            interpolate("${{ github.workflow }}-${{ github.ref }}", &ctx).unwrap(),
            json!("Release-refs/tags/v1.0.0")
        );
        assert_eq!(
            interpolate("Build ${{ matrix.target }}", &ctx).unwrap(),
            json!("Build x86_64")
        );
        assert_eq!(
            interpolate("${{ fromJSON(needs.plan.outputs.matrix) }}", &ctx).unwrap(),
            json!({"include": [{"target": "t"}]})
        );
        assert!(condition("needs.plan.outputs.publish == 'true'", &ctx).unwrap());
        assert!(!condition("${{ needs.plan.outputs.publish != 'TRUE' }}", &ctx).unwrap());
        assert!(condition("success() && !cancelled()", &ctx).unwrap());
        assert!(!condition("needs.build.outputs.x == 'true'", &ctx).unwrap());
        // After a failed step, only a condition with a status function holds.
        let mut failed = ctx.clone();
        failed["job"]["status"] = json!("failure");
        assert!(!condition("needs.plan.outputs.publish == 'true'", &failed).unwrap());
        assert!(condition("always() && needs.plan.outputs.publish == 'true'", &failed).unwrap());
        assert!(condition("failure()", &failed).unwrap());
        assert!(
            eval("secret_thing.x", &ctx)
                .unwrap_err()
                .contains("no context")
        );
        assert!(eval("github.ref ~ 1", &ctx).is_err());
    }
}
