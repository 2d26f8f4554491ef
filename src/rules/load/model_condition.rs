//! The `model` condition: a model file read once however many rules name it, and the
//! threshold a rule asks of it.

use super::*;

impl Loader {
    /// `model = { name = "scam", above = 0.9 }` (or `fpr = 0.005`, the threshold from the
    /// model's cross-validation): the model file is `models/NAME.model` in the rules folder,
    /// read once however many rules name it.
    pub(super) fn model_condition(&mut self, f: &File<'_>, item: &Item) -> Option<Cond> {
        let span = item_span(item);
        let Some(sub) = item.as_table_like() else {
            self.err(
                f,
                span,
                "`model` must be a table, e.g. model = { name = \"scam\", above = 0.9 }",
            );
            return None;
        };
        self.check_keys(f, sub, &["name", "above", "below", "fpr"], "model");
        let before = self.errors.len();
        let name = self.string(f, sub, "name");
        if sub.get("name").is_none() {
            self.err(
                f,
                span.clone(),
                "`model` needs `name`, e.g. name = \"scam\"",
            );
        }
        let above = self.ratio(f, sub, "above").map(|v| v as f32);
        let below = self.ratio(f, sub, "below").map(|v| v as f32);
        // `fpr = 0.005`: above the threshold at which the model's cross-validation flagged
        // that share of label-0 comments (from the model file's header).
        let fpr = self.ratio(f, sub, "fpr");
        let fpr_span = sub.get("fpr").map(item_span);
        if let (Some(_), Some(s)) = (above, &fpr_span) {
            self.err(f, s.clone(), "`model` takes `above` or `fpr`, not both");
        }
        if above.is_none() && below.is_none() && fpr.is_none() && self.errors.len() == before {
            self.err(
                f,
                span,
                "`model` needs a threshold: above = 0.9, fpr = 0.005 (or below = 0.1)",
            );
        }
        if self.errors.len() > before {
            return None;
        }
        let (name, name_span) = name?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.err(
                f,
                name_span,
                format!("invalid model name `{name}`: use letters, digits, - and _"),
            );
            return None;
        }
        let dir = self.dir.join("models");
        let builder = &mut self.builder;
        let files = &self.files;
        let entry = self.models.entry(name.clone()).or_insert_with(|| {
            let path = dir.join(format!("{name}.model"));
            let model = files
                .read(&path)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|bytes| Model::parse(&bytes));
            match model {
                Ok(m) => {
                    builder.models.push((name.clone(), std::sync::Arc::new(m)));
                    Ok(builder.models.len() as u32 - 1)
                }
                Err(e) => {
                    let mut msg = format!("model `{name}`: {}: {e}", path.display());
                    if !files.exists(&path) {
                        let have = files.names_in(&dir, "model");
                        msg.push_str(&if have.is_empty() {
                            format!(
                                " (no models in {}; train one with `commentguard model train`)",
                                dir.display()
                            )
                        } else {
                            format!(" (models here: {})", have.join(", "))
                        });
                    }
                    Err(msg)
                }
            }
        });
        match entry.clone() {
            Ok(model) => {
                let above = match fpr {
                    None => above,
                    Some(rate) => {
                        match self.builder.models[model as usize].1.threshold_at_fpr(rate) {
                            Ok(t) => Some(t),
                            Err(msg) => {
                                self.err(
                                    f,
                                    fpr_span.unwrap_or(name_span),
                                    format!("model `{name}`: {msg}"),
                                );
                                return None;
                            }
                        }
                    }
                };
                Some(Cond::Model {
                    model,
                    above,
                    below,
                })
            }
            Err(msg) => {
                self.err(f, name_span, msg);
                None
            }
        }
    }
}
