//! Small EC2 helpers: tag specifications and filters from our tags.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use ghost_core::{Env, TAG_COMPONENT, TAG_STACK};

pub(crate) fn filter<const N: usize>(name: &str, values: [&str; N]) -> Filter {
    Filter::builder().name(name).set_values(Some(values.iter().map(|v| v.to_string()).collect())).build()
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
