//! Small EC2 helpers: tag specifications and filters from our tags.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use ghost_core::{Env, TAG_COMPONENT, TAG_STACK};

pub(crate) fn filter<V: Into<String>>(name: &str, values: impl IntoIterator<Item = V>) -> Filter {
    Filter::builder().name(name).set_values(Some(values.into_iter().map(Into::into).collect())).build()
}

/// `tag:ghost:stack = <stack>` and, when given, `tag:ghost:component = <component>`.
pub(crate) fn ours(env: &Env, component: Option<&str>) -> Vec<Filter> {
    let mut f = vec![filter(&format!("tag:{TAG_STACK}"), [env.stack()])];
    if let Some(c) = component {
        f.push(filter(&format!("tag:{TAG_COMPONENT}"), [c]));
    }
    f
}

pub(crate) fn tags(env: &Env, component: &str, name: &str) -> Vec<Tag> {
    env.names.tags(component, name).into_iter().map(|t| Tag::builder().key(t.key).value(t.value).build()).collect()
}

pub(crate) fn tag_spec(rt: ResourceType, tags: Vec<Tag>) -> TagSpecification {
    TagSpecification::builder().resource_type(rt).set_tags(Some(tags)).build()
}

pub(crate) fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(Tag::value)
}

/// True when the tags say "this stack" (and this component, when given). Lists check this on top of the
/// server-side tag filter: not every EC2 implementation applies every filter (moto ignores some), and a
/// resource of another stack must never be mistaken for ours.
pub(crate) fn is_ours(tags: &[Tag], env: &Env, component: Option<&str>) -> bool {
    tag_value(tags, TAG_STACK) == Some(env.stack())
        && component.is_none_or(|c| tag_value(tags, TAG_COMPONENT) == Some(c))
}
