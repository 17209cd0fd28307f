//! Checks of a decoded profile that need the whole message: string indexes,
//! sample types and the value count of every sample.

use crate::error::ProfileError;
use crate::model::{Profile, StrId};

pub(super) fn check(profile: &Profile) -> Result<(), ProfileError> {
    match profile.strings.first() {
        None => return Err(ProfileError::invalid("string table is missing")),
        Some(first) if !first.is_empty() => {
            return Err(ProfileError::invalid(format!(
                "string table must start with the empty string, found {first:?}"
            )))
        }
        Some(_) => {}
    }
    if profile.sample_types.is_empty() {
        return Err(ProfileError::invalid("profile has no sample types"));
    }
    if profile.sample_count() > 0 && profile.samples.width != profile.sample_types.len() {
        return Err(ProfileError::invalid(format!(
            "samples have {} values but the profile has {} sample types",
            profile.samples.width,
            profile.sample_types.len()
        )));
    }
    check_strings(profile)
}

fn check_strings(profile: &Profile) -> Result<(), ProfileError> {
    let count = profile.strings.len();
    let in_range = |id: StrId, what: &dyn Fn() -> String| {
        if id.index() < count {
            Ok(())
        } else {
            Err(ProfileError::invalid(format!(
                "{} refers to string index {}, but the string table has {count} entries",
                what(),
                id.0
            )))
        }
    };
    for (i, t) in profile.sample_types.iter().enumerate() {
        in_range(t.kind, &|| format!("sample type {i}"))?;
        in_range(t.unit, &|| format!("the unit of sample type {i}"))?;
    }
    if let Some(t) = profile.period_type {
        in_range(t.kind, &|| "the period type".into())?;
        in_range(t.unit, &|| "the period unit".into())?;
    }
    if let Some(id) = profile.default_sample_type {
        in_range(id, &|| "default_sample_type".into())?;
    }
    in_range(profile.drop_frames, &|| "drop_frames".into())?;
    in_range(profile.keep_frames, &|| "keep_frames".into())?;
    for &id in &profile.comments {
        in_range(id, &|| "a comment".into())?;
    }
    for (i, f) in profile.functions.iter().enumerate() {
        in_range(f.name, &|| format!("the name of function #{i}"))?;
        in_range(f.system_name, &|| format!("the system name of function #{i}"))?;
        in_range(f.filename, &|| format!("the file name of function #{i}"))?;
    }
    for (i, m) in profile.mappings.iter().enumerate() {
        in_range(m.filename, &|| format!("the file name of mapping #{i}"))?;
        in_range(m.build_id, &|| format!("the build id of mapping #{i}"))?;
    }
    for (i, set) in profile.label_sets.iter().enumerate() {
        for label in set {
            in_range(label.key, &|| format!("a label key (label set {i})"))?;
            in_range(label.str, &|| format!("a label value (label set {i})"))?;
            in_range(label.num_unit, &|| format!("a label unit (label set {i})"))?;
        }
    }
    Ok(())
}
