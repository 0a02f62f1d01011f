//! The risk formula. Each alarm detection of a declaration's scans that still counts becomes
//! evidence; the evidence of one class makes one finding (several views or sections of the
//! same goods are one finding, at the strongest evidence), whose contribution is the
//! category's severity times that confidence. The score combines the prior and the findings
//! as independent reasons for concern:
//!
//! `score = 1 - (1 - prior) * product over findings of (1 - contribution)`
//!
//! so it never falls below the prior, never reaches 1 without certainty, and each finding
//! raises it. The channel is RED for any weapon or drugs finding or a score at or over
//! `red_at`, YELLOW at or over `yellow_at`, GREEN below.

use std::collections::BTreeMap;

use crate::declaration::{
    Assessment, Channel, Declaration, DetectionVerdict, Evidence, Finding, ScanDecision, StoredScan,
};
use xray_types::Category;

use super::Taxonomies;

/// The settings of the risk formula (serve flags `--risk-*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskPolicy {
    /// What a certain finding of each category adds, 0 to 1.
    pub weapon_severity: f64,
    pub drugs_severity: f64,
    pub undeclared_severity: f64,
    /// Scores at or over these lead to YELLOW and RED.
    pub yellow_at: f64,
    pub red_at: f64,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        Self {
            weapon_severity: 0.9,
            drugs_severity: 0.8,
            undeclared_severity: 0.35,
            yellow_at: 0.3,
            red_at: 0.7,
        }
    }
}

fn category_words(c: Category) -> &'static str {
    match c {
        Category::Weapon => "weapon",
        Category::Drugs => "drugs",
        Category::UndeclaredGoods => "undeclared goods",
        Category::Other => "other",
    }
}

impl RiskPolicy {
    /// Refuses settings outside 0..1 or a YELLOW line above the RED one.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("--risk-weapon-severity", self.weapon_severity),
            ("--risk-drugs-severity", self.drugs_severity),
            ("--risk-undeclared-severity", self.undeclared_severity),
            ("--risk-yellow-at", self.yellow_at),
            ("--risk-red-at", self.red_at),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} {v} is outside 0..1"));
            }
        }
        if self.yellow_at > self.red_at {
            return Err(format!(
                "--risk-yellow-at {} is above --risk-red-at {}",
                self.yellow_at, self.red_at
            ));
        }
        Ok(())
    }

    pub fn severity(&self, c: Category) -> f64 {
        match c {
            Category::Weapon => self.weapon_severity,
            Category::Drugs => self.drugs_severity,
            Category::UndeclaredGoods => self.undeclared_severity,
            Category::Other => 0.0,
        }
    }

    /// The risk of `declaration` given its scans (in the order they were received).
    pub fn assess(
        &self,
        declaration: &Declaration,
        scans: &[StoredScan],
        taxonomies: &Taxonomies,
    ) -> Assessment {
        let prior = declaration.prior_risk.clamp(0.0, 1.0);
        let mut evidence: BTreeMap<String, (Category, Vec<Evidence>)> = BTreeMap::new();
        let mut declared: BTreeMap<String, String> = BTreeMap::new();
        let mut discounted = Vec::new();
        for scan in scans {
            if scan.decision == Some(ScanDecision::Cleared) {
                discounted.push(format!(
                    "scan {} was cleared by an inspector: its unconfirmed detections do not count",
                    scan.scan_id
                ));
            }
            for d in scan.detections.iter().filter(|d| d.alarm) {
                if d.verdict == Some(DetectionVerdict::FalseAlarm) {
                    discounted.push(format!(
                        "{} in scan {} was judged a false alarm by {}: it does not count",
                        d.class_name, scan.scan_id, d.verdict_by
                    ));
                    continue;
                }
                let confirmed = d.verdict == Some(DetectionVerdict::Confirmed)
                    || scan.decision == Some(ScanDecision::Seized);
                if scan.decision == Some(ScanDecision::Cleared) && !confirmed {
                    continue;
                }
                if d.category == Category::UndeclaredGoods {
                    let headings = taxonomies
                        .get(&scan.model)
                        .map(|t| t.headings(&d.class_name))
                        .unwrap_or(&[]);
                    let covering = declaration
                        .items
                        .iter()
                        .enumerate()
                        .find(|(_, item)| headings.iter().any(|h| item.hs_code.is_under(h)));
                    if let Some((line, item)) = covering {
                        declared.entry(d.class_name.clone()).or_insert_with(|| {
                            format!(
                                "{} seen in scan {} is declared (item {}, HS {}): no finding",
                                d.class_name,
                                scan.scan_id,
                                line + 1,
                                item.hs_code
                            )
                        });
                        continue;
                    }
                }
                evidence
                    .entry(d.class_name.clone())
                    .or_insert_with(|| (d.category, Vec::new()))
                    .1
                    .push(Evidence {
                        scan_id: scan.scan_id.clone(),
                        detection_id: d.id,
                        confidence: if confirmed { 1.0 } else { d.confidence },
                        bbox: d.bbox,
                        verdict: d.verdict,
                    });
            }
        }

        let declared_codes = || {
            let codes: Vec<String> = declaration
                .items
                .iter()
                .map(|i| i.hs_code.to_string())
                .collect();
            if codes.is_empty() {
                "no items declared".to_string()
            } else {
                format!("declared: HS {}", codes.join(", "))
            }
        };
        let mut findings: Vec<Finding> = evidence
            .into_iter()
            .map(|(class_name, (category, evidence))| {
                let strongest = evidence
                    .iter()
                    .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
                    .cloned();
                let confidence = strongest.as_ref().map_or(0.0, |e| e.confidence);
                let contribution = self.severity(category) * f64::from(confidence);
                let seen = match (&strongest, evidence.len()) {
                    (Some(e), 1) => format!("in scan {}", e.scan_id),
                    (Some(e), n) => format!("in {n} detections, strongest in scan {}", e.scan_id),
                    (None, _) => String::new(),
                };
                let how = if confidence >= 1.0 {
                    "confirmed".to_string()
                } else {
                    format!("confidence {confidence:.2}")
                };
                let covered = if category == Category::UndeclaredGoods {
                    format!(", not covered by the declaration ({})", declared_codes())
                } else {
                    String::new()
                };
                Finding {
                    reason: format!(
                        "{}: {class_name} {seen} ({how}){covered}: +{contribution:.2}",
                        category_words(category)
                    ),
                    category,
                    class_name,
                    confidence,
                    contribution,
                    evidence,
                }
            })
            .collect();
        findings.sort_by(|a, b| {
            b.contribution
                .total_cmp(&a.contribution)
                .then_with(|| a.class_name.cmp(&b.class_name))
        });

        // Without findings the score is the prior exactly (no rounding through 1 - (1 - p)).
        let score = if findings.is_empty() {
            prior
        } else {
            1.0 - (1.0 - prior)
                * findings
                    .iter()
                    .map(|f| 1.0 - f.contribution.clamp(0.0, 1.0))
                    .product::<f64>()
        };
        let forcing = findings
            .iter()
            .find(|f| matches!(f.category, Category::Weapon | Category::Drugs));
        let (channel, why) = match forcing {
            Some(f) => (
                Channel::Red,
                format!("channel RED: a {} finding", category_words(f.category)),
            ),
            None if score >= self.red_at => (
                Channel::Red,
                format!(
                    "channel RED: score {score:.2} is at least {:.2}",
                    self.red_at
                ),
            ),
            None if score >= self.yellow_at => (
                Channel::Yellow,
                format!(
                    "channel YELLOW: score {score:.2} is at least {:.2}",
                    self.yellow_at
                ),
            ),
            None => (
                Channel::Green,
                format!(
                    "channel GREEN: score {score:.2} is under {:.2}",
                    self.yellow_at
                ),
            ),
        };

        let mut reasons = vec![format!(
            "prior risk {prior:.2} from the risk-management system"
        )];
        reasons.extend(findings.iter().map(|f| f.reason.clone()));
        reasons.extend(declared.into_values());
        reasons.extend(discounted);
        reasons.push(why);
        Assessment {
            score,
            channel,
            reasons,
            findings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        declaration::{DeclaredItem, HsCode, StoredDetection, TransportMode},
        risk::Taxonomy,
    };
    use xray_types::BoxXyxy;

    fn declaration(hs: &[&str], prior: f64) -> Declaration {
        Declaration {
            id: "D".into(),
            declarant: "ACME".into(),
            origin_country: String::new(),
            destination_country: String::new(),
            transport_mode: TransportMode::Post,
            items: hs
                .iter()
                .map(|h| DeclaredItem {
                    hs_code: HsCode::parse(h).expect("hs"),
                    description: String::new(),
                    quantity: 1.0,
                    value: 1.0,
                })
                .collect(),
            prior_risk: prior,
        }
    }

    fn scan(id: &str, dets: &[(&str, Category, f32)]) -> StoredScan {
        StoredScan {
            scan_id: id.into(),
            declaration_id: "D".into(),
            portal_id: String::new(),
            view: xray_types::View::Unspecified,
            model: "m".into(),
            model_version: "1".into(),
            width: 100,
            height: 100,
            alarm: true,
            received_ms: 0,
            decision: None,
            digest: String::new(),
            detections: dets
                .iter()
                .enumerate()
                .map(|(i, (class, category, confidence))| StoredDetection {
                    id: u32::try_from(i).expect("few"),
                    class_name: class.to_string(),
                    category: *category,
                    confidence: *confidence,
                    bbox: BoxXyxy {
                        x1: 0.0,
                        y1: 0.0,
                        x2: 10.0,
                        y2: 10.0,
                    },
                    alarm: true,
                    verdict: None,
                    verdict_by: String::new(),
                })
                .collect(),
        }
    }

    fn taxonomies() -> Taxonomies {
        let spec = crate::risk::ModelClasses {
            model: "m".into(),
            classes: vec![("cigarettes".into(), Category::UndeclaredGoods)],
        };
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(
            dir.path().join("taxonomy.toml"),
            "[classes.cigarettes]\nhs_headings = ['2402']\n",
        )
        .expect("write");
        let t = Taxonomy::load(dir.path(), &spec).expect("taxonomy");
        [("m".to_string(), t)].into_iter().collect()
    }

    #[test]
    fn a_weapon_makes_the_channel_red_whatever_the_prior() {
        let a = RiskPolicy::default().assess(
            &declaration(&[], 0.0),
            &[scan("s1", &[("firearm", Category::Weapon, 0.5)])],
            &taxonomies(),
        );
        assert_eq!(a.channel, Channel::Red);
        assert!((a.score - 0.45).abs() < 1e-9, "{}", a.score);
        assert_eq!(a.findings.len(), 1);
        assert!(
            a.reasons
                .iter()
                .any(|r| r == "channel RED: a weapon finding")
        );
    }

    #[test]
    fn declared_goods_raise_nothing_and_undeclared_ones_do() {
        let p = RiskPolicy::default();
        let cigs = [scan(
            "s1",
            &[("cigarettes", Category::UndeclaredGoods, 0.8)],
        )];
        let declared = p.assess(&declaration(&["2402.20"], 0.1), &cigs, &taxonomies());
        assert!(declared.findings.is_empty());
        assert!((declared.score - 0.1).abs() < 1e-9);
        assert_eq!(declared.channel, Channel::Green);
        assert!(
            declared
                .reasons
                .iter()
                .any(|r| r.contains("is declared (item 1, HS 240220)"))
        );

        let textiles = p.assess(&declaration(&["6109"], 0.1), &cigs, &taxonomies());
        assert_eq!(textiles.findings.len(), 1);
        let expected = 1.0 - 0.9 * (1.0 - 0.35 * 0.8);
        assert!(
            (textiles.score - expected).abs() < 1e-6,
            "{}",
            textiles.score
        );
        assert_eq!(textiles.channel, Channel::Yellow);
        assert!(
            textiles.findings[0]
                .reason
                .contains("not covered by the declaration (declared: HS 6109)")
        );
    }

    #[test]
    fn views_of_the_same_goods_make_one_finding_at_the_strongest() {
        let a = RiskPolicy::default().assess(
            &declaration(&[], 0.0),
            &[
                scan("top", &[("cigarettes", Category::UndeclaredGoods, 0.5)]),
                scan("side", &[("cigarettes", Category::UndeclaredGoods, 0.9)]),
            ],
            &taxonomies(),
        );
        assert_eq!(a.findings.len(), 1);
        assert_eq!(a.findings[0].evidence.len(), 2);
        assert!((a.score - 0.35 * 0.9).abs() < 1e-6);
    }

    #[test]
    fn verdicts_move_the_score() {
        let p = RiskPolicy::default();
        let d = declaration(&[], 0.2);
        let mut s = scan("s1", &[("knife", Category::Weapon, 0.6)]);
        s.detections[0].verdict = Some(DetectionVerdict::FalseAlarm);
        s.detections[0].verdict_by = "insp-7".into();
        let cleared = p.assess(&d, std::slice::from_ref(&s), &taxonomies());
        assert!(cleared.findings.is_empty());
        assert!((cleared.score - 0.2).abs() < 1e-9);
        assert!(
            cleared
                .reasons
                .iter()
                .any(|r| r.contains("false alarm by insp-7"))
        );

        s.detections[0].verdict = Some(DetectionVerdict::Confirmed);
        let confirmed = p.assess(&d, std::slice::from_ref(&s), &taxonomies());
        assert!((confirmed.score - (1.0 - 0.8 * 0.1)).abs() < 1e-9);

        s.detections[0].verdict = None;
        s.decision = Some(ScanDecision::Cleared);
        assert!(
            p.assess(&d, std::slice::from_ref(&s), &taxonomies())
                .findings
                .is_empty()
        );
        s.decision = Some(ScanDecision::Seized);
        let seized = p.assess(&d, &[s], &taxonomies());
        assert_eq!(seized.findings[0].confidence, 1.0);
    }

    #[test]
    fn policy_settings_are_checked() {
        assert_eq!(RiskPolicy::default().check(), Ok(()));
        let p = RiskPolicy {
            yellow_at: 0.8,
            ..RiskPolicy::default()
        };
        assert!(
            p.check()
                .expect_err("inverted")
                .contains("above --risk-red-at")
        );
    }
}
