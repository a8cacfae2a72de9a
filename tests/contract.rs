//! The metadata contract as a station sees it: one valid document, then one mistake at a time.

use scantriage::ingest::*;
use serde_json::{Value, json};

fn valid() -> Value {
    json!({
        "format_version": 1,
        "station_id": "NLRTM-ECT-P3",
        "station_scan_id": "2024-05-14:000123",
        "captured_at": "2024-05-14T09:31:07+02:00",
        "pixel_pitch_mm": 5.0,
        "energies_mev": { "high": 6.0, "low": 4.0 },
        "containers": [{ "number": "CSQU3054383", "iso_type": "45G1" }],
        "declaration": {
            "number": "24NL0001234567890",
            "declarant": "Example Forwarding B.V.",
            "empty": false,
            "items": [
                {
                    "hs_code": "6109.10",
                    "description": "Cotton T-shirts",
                    "quantity": 12000,
                    "unit": "pieces",
                    "gross_weight_kg": 2400
                },
                {
                    "hs_code": "9403.60",
                    "description": "Wooden office furniture",
                    "quantity": 40,
                    "unit": "pieces",
                    "gross_weight_kg": 3100.5
                }
            ]
        }
    })
}

/// Sets (`Some`) or removes (`None`) the member a JSON pointer names; its parent must exist.
fn edit(doc: &mut Value, pointer: &str, value: Option<Value>) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer starts with /");
    let object = doc
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{parent} is not an object"));
    match value {
        Some(value) => object.insert(key.to_owned(), value),
        None => object.remove(key),
    };
}

fn parse(doc: &Value) -> Result<ScanMetadata, ContractError> {
    ScanMetadata::from_json(&serde_json::to_vec(doc).unwrap())
}

fn parse_with(pointer: &str, value: Option<Value>) -> Result<ScanMetadata, ContractError> {
    let mut doc = valid();
    edit(&mut doc, pointer, value);
    parse(&doc)
}

#[test]
fn valid_document_parses() {
    let metadata = parse(&valid()).unwrap();
    assert!(metadata.is_dual_energy());
    assert_eq!(metadata.containers[0].number.as_str(), "CSQU3054383");
    assert_eq!(
        metadata.containers[0].iso_type.length(),
        ContainerLength::Forty
    );
    assert_eq!(metadata.declaration.items[0].hs_code.as_str(), "610910");
    assert_eq!(metadata.declaration.gross_weight_kg(), 5500.5);
    assert_eq!(metadata.declaration.items[0].container, None);

    // A declaration may say which container each item travels in, in any spelling of its number.
    let named = parse_with("/declaration/items/0/container", Some(json!("csqu 305438-3"))).unwrap();
    assert_eq!(named.declaration.items[0].container.as_ref(), Some(&named.containers[0].number));
}

#[test]
fn one_mistake_names_its_field() {
    let long_id = "S".repeat(65);
    let twenty = |number: &str| json!({ "number": number, "iso_type": "22G1" });
    // (JSON pointer to change, new value or None to remove, fields reported, message fragment)
    #[rustfmt::skip]
    let cases: Vec<(&str, Option<Value>, &[&str], &str)> = vec![
        ("/format_version", Some(json!(2)), &["format_version"], "reads format version 1, got 2"),
        ("/format_version", Some(json!("1")), &["format_version"], "invalid type: string"),
        ("/format_version", None, &["format_version"], "missing field `format_version`"),
        ("/station_id", Some(json!("")), &["station_id"], "must be 1 to 64 characters"),
        ("/station_id", Some(json!("lane 3/gate")), &["station_id"], "\"lane 3/gate\""),
        ("/station_id", Some(json!(long_id)), &["station_id"], "must be 1 to 64 characters"),
        ("/station_id", None, &["station_id"], "missing field `station_id`"),
        ("/station_scan_id", Some(json!("")), &["station_scan_id"], "1 to 128 characters"),
        ("/station_scan_id", Some(json!("../etc/passwd")), &["station_scan_id"], "'.', '_', '-', ':'"),
        ("/station_scan_id", Some(json!(123)), &["station_scan_id"], "expected a string"),
        ("/captured_at", Some(json!("14/05/2024 09:31")), &["captured_at"], "must be an RFC 3339 time"),
        ("/captured_at", Some(json!("2024-05-14T09:31:07")), &["captured_at"], "with UTC offset"),
        ("/captured_at", Some(json!(1715671867)), &["captured_at"], "expected a string"),
        ("/captured_at", Some(json!("2999-01-01T00:00:00Z")), &["captured_at"], "in the future or before 2000"),
        ("/captured_at", Some(json!("1999-12-31T23:59:59Z")), &["captured_at"], "check the station clock"),
        ("/pixel_pitch_mm", Some(json!(0)), &["pixel_pitch_mm"], "must be between 1 and 20 mm, got 0"),
        ("/pixel_pitch_mm", Some(json!(100)), &["pixel_pitch_mm"], "got 100"),
        ("/pixel_pitch_mm", Some(json!("5")), &["pixel_pitch_mm"], "invalid type: string \"5\", expected f64"),
        ("/energies_mev/high", Some(json!(-6)), &["energies_mev.high"], "between 1 and 15 MeV, got -6"),
        ("/energies_mev/high", Some(json!(20)), &["energies_mev.high"], "got 20"),
        ("/energies_mev/high", None, &["energies_mev.high"], "missing field `high`"),
        ("/energies_mev/low", Some(json!(6)), &["energies_mev.low"], "below the high energy (6), got 6"),
        ("/energies_mev/low", Some(json!(7.5)), &["energies_mev.low"], "got 7.5"),
        ("/energies_mev/low", Some(json!(-4)), &["energies_mev.low"], "at least 0.5 MeV"),
        ("/containers", Some(json!([])), &["containers"], "one container or two 20 ft containers, got 0"),
        (
            "/containers",
            Some(json!([twenty("CSQU3054383"), twenty("MSKU9070323"), twenty("BICU1234565")])),
            &["containers"],
            "got 3",
        ),
        (
            "/containers",
            Some(json!([
                { "number": "CSQU3054383", "iso_type": "42G1" },
                { "number": "MSKU9070323", "iso_type": "45G1" },
            ])),
            &["containers[0].iso_type", "containers[1].iso_type"],
            "must both be 20 ft",
        ),
        (
            "/containers",
            Some(json!([twenty("CSQU3054383"), twenty("csqu 305438-3")])),
            &["containers[1].number"],
            "CSQU3054383 appears twice",
        ),
        ("/containers/0/number", Some(json!("CSQU3054384")), &["containers[0].number"], "check digit is 3 but '4'"),
        ("/containers/0/number", Some(json!("CSQX3054383")), &["containers[0].number"], "category letter"),
        ("/containers/0/number", None, &["containers[0].number"], "missing field `number`"),
        ("/containers/0/iso_type", Some(json!("43G1")), &["containers[0].iso_type"], "height code"),
        ("/containers/0/iso_type", Some(json!("95G1")), &["containers[0].iso_type"], "length code"),
        ("/containers/0/iso_type", Some(json!("45G")), &["containers[0].iso_type"], "such as 22G1 or 45G1"),
        ("/declaration/number", Some(json!("")), &["declaration.number"], "must be non-empty text"),
        ("/declaration/number", Some(json!("   ")), &["declaration.number"], "must be non-empty text"),
        ("/declaration/declarant", Some(json!("")), &["declaration.declarant"], "at most 200 characters"),
        ("/declaration/declarant", None, &["declaration.declarant"], "missing field `declarant`"),
        ("/declaration/empty", Some(json!(true)), &["declaration.items"], "empty container lists no items, got 2"),
        ("/declaration/empty", Some(json!("no")), &["declaration.empty"], "expected a boolean"),
        ("/declaration/items", Some(json!([])), &["declaration.items"], "or set \"empty\": true"),
        ("/declaration/items", None, &["declaration.items"], "must list at least one item"),
        ("/declaration/items/1/hs_code", Some(json!("61091")), &["declaration.items[1].hs_code"], "6 to 10 digits, got 5"),
        ("/declaration/items/1/hs_code", Some(json!("ABCDEF")), &["declaration.items[1].hs_code"], "only digits"),
        ("/declaration/items/1/hs_code", Some(json!("7700.00")), &["declaration.items[1].hs_code"], "chapter 77"),
        ("/declaration/items/1/hs_code", Some(json!(940360)), &["declaration.items[1].hs_code"], "expected a string"),
        ("/declaration/items/0/description", Some(json!("")), &["declaration.items[0].description"], "non-empty"),
        ("/declaration/items/0/quantity", Some(json!(0)), &["declaration.items[0].quantity"], "positive number, got 0"),
        ("/declaration/items/0/quantity", Some(json!(-1)), &["declaration.items[0].quantity"], "got -1"),
        ("/declaration/items/0/unit", Some(json!(" ")), &["declaration.items[0].unit"], "at most 32 characters"),
        ("/declaration/items/0/gross_weight_kg", Some(json!(0)), &["declaration.items[0].gross_weight_kg"], "got 0"),
        ("/declaration/items/0/gross_weight_kg", Some(json!(-1)), &["declaration.items[0].gross_weight_kg"], "got -1"),
        (
            "/declaration/items/0/gross_weight_kg",
            Some(json!(1e9)),
            // The total is reported too: it is what a container cannot physically hold.
            &["declaration.items[0].gross_weight_kg", "declaration.items"],
            "up to 72000, got 1000000000",
        ),
        (
            "/declaration/items/1/container",
            Some(json!("MSKU9070323")),
            &["declaration.items[1].container"],
            "MSKU9070323 is not a container of this scan (CSQU3054383)",
        ),
        ("/declaration/items/1/container", Some(json!("MSKU9070324")), &["declaration.items[1].container"], "check digit"),
        ("/pixel_pich_mm", Some(json!(5)), &["pixel_pich_mm"], "unknown field `pixel_pich_mm`"),
        ("/energies_mev/medium", Some(json!(5)), &["energies_mev.medium"], "unknown field `medium`"),
        ("/declaration/items/0/weight", Some(json!(5)), &["declaration.items[0].weight"], "expected one of"),
    ];
    for (pointer, value, fields, fragment) in cases {
        let shown = format!("{pointer} = {value:?}");
        let errors = parse_with(pointer, value).expect_err(&shown).errors;
        let reported: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(reported, fields, "{shown}: {errors:?}");
        assert!(
            errors[0].message.contains(fragment),
            "{shown}: {:?} lacks {fragment:?}",
            errors[0].message
        );
    }
}

#[test]
fn broken_documents_are_refused_as_a_whole() {
    let mut trailing = serde_json::to_vec(&valid()).unwrap();
    trailing.extend_from_slice(b" {}");
    let batch = serde_json::to_vec(&json!([valid()])).unwrap();
    let cases: [(&[u8], &str); 7] = [
        (b"", "EOF while parsing"),
        (
            b"<scan version=\"1\"/>",
            "expected value at line 1 column 1",
        ),
        (b"[1, 2]", "must be a JSON object, got an array"),
        (&batch, "must be a JSON object, got an array"),
        (b"null", "invalid type: null, expected struct ScanMetadata"),
        (
            b"42",
            "invalid type: integer `42`, expected struct ScanMetadata",
        ),
        (&trailing, "trailing characters"),
    ];
    for (bytes, fragment) in cases {
        let errors = ScanMetadata::from_json(bytes).unwrap_err().errors;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "(document)");
        assert!(
            errors[0].message.contains(fragment),
            "{:?} lacks {fragment:?}",
            errors[0].message
        );
    }
}

#[test]
fn reports_every_mistake_at_once() {
    let mut doc = valid();
    for (pointer, value) in [
        ("/format_version", json!(2)),
        ("/station_id", json!("")),
        ("/pixel_pitch_mm", json!(0)),
        ("/energies_mev/low", json!(7)),
        ("/declaration/declarant", json!("")),
        ("/declaration/items/1/quantity", json!(0)),
    ] {
        edit(&mut doc, pointer, Some(value));
    }
    let error = parse(&doc).unwrap_err();
    let fields: Vec<&str> = error.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "format_version",
            "station_id",
            "pixel_pitch_mm",
            "energies_mev.low",
            "declaration.declarant",
            "declaration.items[1].quantity",
        ]
    );
    let shown = error.to_string();
    assert!(
        shown.starts_with("invalid scan metadata: format_version: "),
        "{shown}"
    );
    assert!(
        shown.contains("; station_id: must be 1 to 64 characters"),
        "{shown}"
    );
}

#[test]
fn single_energy_scan_is_valid() {
    let metadata = parse_with("/energies_mev/low", None).unwrap();
    assert!(!metadata.is_dual_energy());
    assert_eq!(
        metadata.energies_mev,
        Energies {
            high: 6.0,
            low: None
        }
    );
}

#[test]
fn pixel_pitch_defaults_to_5_mm() {
    assert_eq!(
        parse_with("/pixel_pitch_mm", None).unwrap().pixel_pitch_mm,
        5.0
    );
}

#[test]
fn declared_empty_container_needs_no_items() {
    let mut doc = valid();
    edit(&mut doc, "/declaration/empty", Some(json!(true)));
    edit(&mut doc, "/declaration/items", None);
    let metadata = parse(&doc).unwrap();
    assert!(metadata.declaration.empty && metadata.declaration.items.is_empty());
}

#[test]
fn two_twenty_foot_containers_are_valid() {
    let containers = json!([
        { "number": "CSQU3054383", "iso_type": "22G1" },
        { "number": "MSKU 907032-3", "iso_type": "22G1" },
    ]);
    let metadata = parse_with("/containers", Some(containers)).unwrap();
    assert_eq!(metadata.containers[1].number.as_str(), "MSKU9070323");
}

#[test]
fn documented_example_is_valid() {
    let doc = include_str!("../docs/scan-format.md");
    let example = doc
        .split("## Full example")
        .nth(1)
        .and_then(|s| s.split("```json\n").nth(1));
    let example = example
        .and_then(|s| s.split("```").next())
        .expect("docs have a full example");
    assert_eq!(
        ScanMetadata::from_json(example.as_bytes()).unwrap(),
        parse(&valid()).unwrap()
    );
}

#[test]
fn round_trip_gives_an_equal_value() {
    let metadata = parse(&valid()).unwrap();
    let bytes = serde_json::to_vec(&metadata).unwrap();
    assert_eq!(ScanMetadata::from_json(&bytes).unwrap(), metadata);
}

#[test]
fn never_panics_on_garbage() {
    let doc = serde_json::to_vec(&valid()).unwrap();
    for len in 0..doc.len() {
        assert!(
            ScanMetadata::from_json(&doc[..len]).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
    // Deterministic LCG (Knuth's MMIX constants) so that a failure reproduces.
    let mut state: u64 = 0x5CA7_7261_6765;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for _ in 0..1_000 {
        let garbage: Vec<u8> = (0..next() % 64).map(|_| next() as u8).collect();
        assert!(
            ScanMetadata::from_json(&garbage).is_err(),
            "{garbage:?} accepted"
        );
    }
    // Corrupted copies of the valid document reach deeper; some may still be valid.
    for _ in 0..1_000 {
        let mut corrupt = doc.clone();
        for _ in 0..1 + next() % 4 {
            let at = next() % corrupt.len();
            corrupt[at] = next() as u8;
        }
        let _ = ScanMetadata::from_json(&corrupt);
    }
}
