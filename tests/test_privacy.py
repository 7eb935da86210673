"""Tests of cpm_analysis.privacy: masking, pseudonyms, keys, owner books, the leak scanner."""

from __future__ import annotations

import base64
import hmac
import json
import os
import stat

import numpy as np
import pandas as pd
import pytest

from cpm_analysis import privacy
from cpm_analysis.data import validate_frames
from cpm_analysis.privacy import (
    MASKED,
    PiiScanner,
    is_pii_column,
    load_key,
    mask_frame,
    mask_rejected,
    pseudonymize,
    restrict_to_owner,
)
from cpm_analysis.synthetic import generate

KEY = b"test-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)


@pytest.fixture(scope="module")
def book():
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "signup_date": ["2024-01-01"] * 4,
            "name": ["Ann Lee", "Bo Yu", "Cy Ode", "Di Ma"],
            "email": ["ann@x.example", "bo@x.example", "cy@x.example", "di@x.example"],
            "phone": ["+1-555-000-0001", "+1-555-000-0002", "+1-555-000-0003", "+1-555-000-0004"],
            "owner_id": ["S1", "S1", "S2", None],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4", "O5"],
            "customer_id": ["C1", "C2", "C3", "C3", "C9"],
            "order_date": ["2024-02-01"] * 5,
            "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )
    staff = pd.DataFrame(
        {"staff_id": ["S1", "S2"], "role": ["sales", "sales"], "name": ["Sal Es", "Tom Po"]}
    )
    targets = pd.DataFrame(
        {
            "kpi": ["revenue", "revenue", "revenue"],
            "period": ["2024-02"] * 3,
            "target": [1.0, 2.0, 3.0],
            "owner_id": [None, "S1", "S2"],
        }
    )
    return validate_frames(
        {"customers": customers, "orders": orders, "staff": staff, "targets": targets}
    )


# --- columns and masking -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "name",
        "email",
        "phone",
        "first_name",
        "Customer_Name",
        "owner_name",
        "surname",
        "email_address",
        "mobile",
        "phone_number",
        "street_address",
    ],
)
def test_personal_columns_are_recognised(name):
    assert is_pii_column(name)


@pytest.mark.parametrize(
    "name", ["customer_id", "owner_id", "region", "channel", "team", "category_name", "segment"]
)
def test_other_columns_are_not_personal(name):
    assert not is_pii_column(name)


def test_mask_frame_drops_personal_columns_and_pseudonymises_ids():
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "name": ["Ann Lee", "Bo Yu"],
            "email": ["a@x.e", "b@x.e"],
            "clv": [1.5, 2.5],
        }
    )
    out = mask_frame(frame, "mask", key=KEY)
    assert out.columns.tolist() == ["pseudonym", "clv"]
    assert out["pseudonym"].tolist() == pseudonymize(frame["customer_id"], KEY).tolist()
    assert frame.columns.tolist() == ["customer_id", "name", "email", "clv"]  # input untouched


def test_mask_frame_show_keeps_everything():
    frame = pd.DataFrame({"customer_id": ["C1"], "name": ["Ann Lee"]})
    pd.testing.assert_frame_equal(mask_frame(frame, "show"), frame)


def test_mask_frame_replaces_an_existing_pseudonym_column():
    frame = pd.DataFrame({"customer_id": ["C1"], "pseudonym": ["stale"], "x": [1]})
    out = mask_frame(frame, "mask", key=KEY)
    assert out.columns.tolist() == ["pseudonym", "x"]
    assert out["pseudonym"].iloc[0] != "stale"


def test_mask_frame_needs_a_key_for_ids_and_a_valid_mode():
    with pytest.raises(ValueError, match="key"):
        mask_frame(pd.DataFrame({"customer_id": ["C1"]}), "mask")
    with pytest.raises(ValueError, match="pii: expected 'mask' or 'show'"):
        mask_frame(pd.DataFrame({"a": [1]}), "hide")


# --- pseudonyms --------------------------------------------------------------------------------


def test_pseudonym_is_truncated_hmac_sha256_in_base32():
    out = pseudonymize(pd.Series(["C000123"]), KEY).iloc[0]
    digest = hmac.digest(KEY, b"C000123", "sha256")
    assert out == "P-" + base64.b32encode(digest)[:12].decode()


def test_pseudonym_with_a_long_key_matches_hmac():
    key = b"k" * 100  # longer than SHA-256's block: hashed first, as RFC 2104 says
    out = pseudonymize(pd.Series(["C1"]), key).iloc[0]
    assert out == "P-" + base64.b32encode(hmac.digest(key, b"C1", "sha256"))[:12].decode()


def test_pseudonyms_are_stable_keyed_aligned_and_keep_missing():
    ids = pd.Series(["C2", "C1", None, "C2"], index=[10, 11, 12, 13])
    out = pseudonymize(ids, KEY)
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out[10] == out[13] != out[11]
    assert pd.isna(out[12])
    other = pseudonymize(ids, b"another-key-0123456789")
    assert out[10] != other[10]
    assert pseudonymize(["C2"], KEY).iloc[0] == out[10]


def test_pseudonyms_are_unique_for_many_ids():
    ids = pd.Series([f"C{i:07d}" for i in range(20_000)])
    assert pseudonymize(ids, KEY).nunique() == 20_000


def test_pseudonymize_rejects_short_keys():
    with pytest.raises(ValueError, match="at least 16"):
        pseudonymize(pd.Series(["C1"]), b"short")


# --- keys --------------------------------------------------------------------------------------


def test_key_file_is_created_once_private_and_reused(tmp_path):
    key = load_key(tmp_path)
    path = tmp_path / privacy.KEY_FILE
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(tmp_path) == key
    assert len(key) == 64


def test_key_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, "environment-key-0123456789")
    assert load_key(tmp_path) == b"environment-key-0123456789"
    assert not (tmp_path / privacy.KEY_FILE).exists()


def test_short_environment_key_is_refused(monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, "short")
    with pytest.raises(ValueError, match="CPM_PSEUDONYM_KEY"):
        load_key()


def test_missing_key_without_folder_or_create(tmp_path):
    with pytest.raises(ValueError, match="set CPM_PSEUDONYM_KEY"):
        load_key(None)
    with pytest.raises(ValueError, match="does not exist"):
        load_key(tmp_path, create=False)


# --- rejected rows -----------------------------------------------------------------------------


def _rejected():
    rows = [
        (
            "customers",
            {
                "customer_id": "C1",
                "name": "Ann Lee",
                "email": "ann@x.example",
                "phone": "+1-555-000-0001",
                "region": "North",
            },
        ),
        (
            "orders",
            {
                "order_id": "O9",
                "customer_id": "C1",
                "amount": "n/a",
                "category": "mail ann@x.example",
                "note": "her cell +1-555-010-9999",
            },
        ),
        ("customers", {"customer_id": "C2", "name": None, "email": "bo@x.example"}),
    ]
    return pd.DataFrame(
        {
            "table": [t for t, _ in rows],
            "row": [1, 2, 3],
            "column": ["customer_id", "amount", "customer_id"],
            "reason": ["duplicate customer_id", "non-numeric amount", "duplicate customer_id"],
            "values": [json.dumps(v, separators=(",", ":")) for _, v in rows],
        }
    )


def test_mask_rejected_masks_personal_fields_keeps_real_ids():
    out = mask_rejected(_rejected(), "mask")
    first = json.loads(out["values"].iloc[0])
    assert first == {
        "customer_id": "C1",
        "name": MASKED,
        "email": MASKED,
        "phone": MASKED,
        "region": "North",
    }
    second = json.loads(out["values"].iloc[1])
    assert second["category"] == f"mail {MASKED}"  # a stray e-mail anywhere is masked too
    assert "note" not in second  # only the contract columns of the table are kept
    assert second["amount"] == "n/a"
    third = json.loads(out["values"].iloc[2])
    assert third["name"] is None and third["email"] == MASKED
    assert out[["table", "row", "column", "reason"]].equals(
        _rejected()[["table", "row", "column", "reason"]]
    )


def test_mask_rejected_with_key_pseudonymises_ids_and_show_is_identity():
    out = mask_rejected(_rejected(), "mask", key=KEY)
    assert json.loads(out["values"].iloc[0])["customer_id"] == pseudonymize(["C1"], KEY).iloc[0]
    pd.testing.assert_frame_equal(mask_rejected(_rejected(), "show"), _rejected())


def test_mask_rejected_of_the_bundled_style_data_leaves_no_personal_value():
    data = generate(300, seed=3, faults=0.02)
    ds = data.to_dataset()
    assert (ds.rejected["table"] == "customers").any()
    masked = mask_rejected(ds.rejected, "mask").to_csv(index=False)
    customers = data.tables["customers"]
    for column in ("name", "email", "phone"):
        leaked = [v for v in customers[column].dropna().astype(str) if v in masked]
        assert not leaked, column


# --- owner books -------------------------------------------------------------------------------


def test_restrict_to_owner_keeps_only_the_book(book):
    mine = restrict_to_owner(book, "S1")
    assert mine.customers["customer_id"].tolist() == ["C1", "C2"]
    assert sorted(mine.orders["order_id"]) == ["O1", "O2"]
    assert mine.staff["staff_id"].tolist() == ["S1"]
    assert sorted(mine.targets["owner_id"].fillna("all")) == ["S1", "all"]


def test_restrict_to_owner_filters_rejected_rows(book):
    assert (book.rejected["table"] == "orders").sum() == 1  # the order of unknown C9
    assert restrict_to_owner(book, "S1").rejected.empty
    data = generate(300, seed=3, faults=0.02)
    ds = data.to_dataset()
    owner = ds.customers["owner_id"].value_counts().index[0]
    mine = restrict_to_owner(ds, owner)
    ids = set(mine.customers["customer_id"])
    for values in mine.rejected["values"]:
        record = json.loads(values)
        assert record.get("customer_id") in ids or owner in (
            record.get("owner_id"),
            record.get("staff_id"),
        )


def test_restrict_to_owner_errors(book):
    with pytest.raises(ValueError, match="'S9' owns no customers"):
        restrict_to_owner(book, "S9")
    no_owner = validate_frames(
        {
            "customers": pd.DataFrame({"customer_id": ["C1"], "signup_date": ["2024-01-01"]}),
            "orders": pd.DataFrame(
                {
                    "order_id": ["O1"],
                    "customer_id": ["C1"],
                    "order_date": ["2024-01-02"],
                    "amount": [1.0],
                }
            ),
        }
    )
    with pytest.raises(ValueError, match="no owner_id column"):
        restrict_to_owner(no_owner, "S1")


# --- leak scanner ------------------------------------------------------------------------------


def test_scanner_finds_each_kind_in_any_spelling():
    scanner = PiiScanner(
        names=["Ann Lee", "Zoë O'Brien"], emails=["Ann@X.example"], phones=["+1-555-000-0001"]
    )
    assert scanner.scan_text("<td>ANN lee</td>") == {"name": 1}
    assert scanner.scan_text("Zo&euml; O&#x27;Brien") == {"name": 1}
    assert scanner.scan_text("mail: ann@x.example") == {"email": 1}
    assert scanner.scan_text("tel 1 555 000 0001; (555) 000-0001x") == {"phone": 1}
    assert scanner.scan_text('"+15550000001",') == {"phone": 1}
    assert scanner.scan_text("Annlee, Lee Ann, 5550000002") == {}
    # patterns: any e-mail address or phone number counts, known to the data or not
    assert scanner.scan_text("ann@y.example, 555-000-0002") == {"email": 1, "phone": 1}


def test_scanner_ignores_base64_images_and_single_word_names():
    rng = np.random.default_rng(0)
    blob = base64.b64encode(rng.bytes(3000)).decode()
    scanner = PiiScanner(names=["Madonna", "Ann Lee"], phones=["5550000001"])
    assert scanner.scan_text(f'<img src="data:image/png;base64,{blob}">Madonna') == {}


def test_scanner_from_dataset_scans_files(tmp_path):
    data = generate(100, seed=4, faults=0.03)
    scanner = PiiScanner.from_dataset(data.to_dataset())
    customer = data.tables["customers"].iloc[5]
    clean = tmp_path / "clean.html"
    clean.write_text("<p>nothing personal here: C000005, North, 12.5</p>")
    dirty = tmp_path / "dirty.csv"
    dirty.write_text(f"id,who\nC1,{customer['name']}\nC2,{customer['email']}\n")
    findings = scanner.scan_files([clean, dirty])
    assert {(os.path.basename(f.path), f.kind) for f in findings} == {
        ("dirty.csv", "name"),
        ("dirty.csv", "email"),
    }
    assert all(customer["name"] not in str(f) for f in findings)  # counts, never values


def test_a_customer_named_like_an_account_owner_is_not_flagged_by_the_owner_id():
    # Superstore keys its regional managers by name, and one customer shares a manager's name:
    # the owner id is shown by design and reveals nothing about the customer.
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "signup_date": ["2024-01-01", "2024-01-02"],
            "name": ["Chuck Magee", "Ann Lee"],
            "owner_id": ["Chuck Magee", "Chuck Magee"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2"],
            "customer_id": ["C1", "C2"],
            "order_date": ["2024-01-05", "2024-01-06"],
            "amount": [10.0, 20.0],
        }
    )
    scanner = privacy.PiiScanner.from_dataset(
        validate_frames({"customers": customers, "orders": orders})
    )
    assert scanner.scan_text("owner Chuck Magee: 2 customers") == {}
    assert scanner.scan_text("customer Ann Lee") == {"name": 1}
