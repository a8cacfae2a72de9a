//! Random selection: customs services inspect a small share of the containers they would
//! release, so that the hit rate of those inspections tells what the risk rules miss.

use serde_json::json;

use super::{Lane, Reason, ReasonCode, Verdict};

/// Sends a green-lane verdict to the red lane with a [`ReasonCode::RandomSelection`] reason when
/// `draw` (uniform in [0, 1), fresh for each scan) falls below `share`. Verdicts already in the
/// yellow or red lane keep their lane. The risk score is not raised: nothing was found.
/// Returns whether the verdict was selected.
pub fn select_at_random(verdict: &mut Verdict, share: f64, draw: f64) -> bool {
    if verdict.lane != Lane::Green || draw >= share {
        return false;
    }
    verdict.lane = Lane::Red;
    verdict.reasons.push(Reason {
        code: ReasonCode::RandomSelection,
        sentence: format!(
            "Nothing found against the declaration: chosen at random for inspection, as {:.1} % of the scans that would be released are.",
            100.0 * share
        ),
        evidence: json!({ "share": share }),
        points: 0,
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(lane: Lane) -> Verdict {
        Verdict { risk_score: 0, lane, reasons: Vec::new() }
    }

    #[test]
    fn a_released_scan_is_selected_when_the_draw_is_below_the_share() {
        let mut selected = verdict(Lane::Green);
        assert!(select_at_random(&mut selected, 0.02, 0.019));
        assert_eq!(selected.lane, Lane::Red);
        assert_eq!(selected.risk_score, 0);
        assert_eq!(selected.reasons.len(), 1);
        assert_eq!(selected.reasons[0].code, ReasonCode::RandomSelection);
        assert!(selected.reasons[0].sentence.contains("2.0 %"), "{}", selected.reasons[0].sentence);

        let mut released = verdict(Lane::Green);
        assert!(!select_at_random(&mut released, 0.02, 0.02));
        assert_eq!(released, verdict(Lane::Green));
    }

    #[test]
    fn flagged_scans_and_a_zero_share_are_left_alone() {
        for lane in [Lane::Yellow, Lane::Red] {
            let mut flagged = verdict(lane);
            assert!(!select_at_random(&mut flagged, 1.0, 0.0));
            assert_eq!(flagged, verdict(lane));
        }
        let mut released = verdict(Lane::Green);
        assert!(!select_at_random(&mut released, 0.0, 0.0));
        assert_eq!(released, verdict(Lane::Green));
    }
}
