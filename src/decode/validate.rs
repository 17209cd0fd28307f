//! Checks of a decoded profile that need the whole message: string indexes,
//! sample types and the value count of every sample.

use super::builder::count_of;
use crate::error::ProfileError;
use crate::model::{Profile, StrId};

/// The protobuf ids of the functions and mappings, by index in the profile,
/// so that messages can name the ids the file uses.
pub(super) struct RawIds<'a> {
    pub(super) functions: &'a [u64],
    pub(super) mappings: &'a [u64],
}

pub(super) fn check(profile: &Profile, ids: &RawIds<'_>) -> Result<(), ProfileError> {
    match profile.strings.first() {
        None => {
            return Err(ProfileError::invalid(
                "the string table is missing; it must contain at least the empty string",
            ))
        }
        Some(first) if !first.is_empty() => {
            return Err(ProfileError::invalid(format!(
                "the string table must start with the empty string, but starts with {first:?}"
            )))
        }
        Some(_) => {}
    }
    if profile.sample_types.is_empty() {
        return Err(ProfileError::invalid(
            "the profile declares no sample types; it needs at least one, such as inuse_space",
        ));
    }
    if profile.sample_count() > 0 && profile.samples.width != profile.sample_types.len() {
        return Err(ProfileError::invalid(format!(
            "samples have {}, but the profile declares {}; \
             every sample needs one value per sample type",
            count_of(profile.samples.width, "value"),
            count_of(profile.sample_types.len(), "sample type")
        )));
    }
    check_strings(profile, ids)
}

fn check_strings(profile: &Profile, ids: &RawIds<'_>) -> Result<(), ProfileError> {
    let count = profile.strings.len();
    let in_range = |id: StrId, what: &dyn Fn() -> String| {
        if id.index() < count {
            Ok(())
        } else {
            Err(ProfileError::invalid(format!(
                "{} refers to string index {}, but the string table has only {count} entries",
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
    for (f, id) in profile.functions.iter().zip(ids.functions) {
        in_range(f.name, &|| format!("the name of function id {id}"))?;
        in_range(f.system_name, &|| {
            format!("the system name of function id {id}")
        })?;
        in_range(f.filename, &|| format!("the file name of function id {id}"))?;
    }
    for (m, id) in profile.mappings.iter().zip(ids.mappings) {
        in_range(m.filename, &|| format!("the file name of mapping id {id}"))?;
        in_range(m.build_id, &|| format!("the build id of mapping id {id}"))?;
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
