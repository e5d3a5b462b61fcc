//! Deterministic names and tags for everything a stack owns.
//!
//! Lookups use tags (`ghost:stack`, `ghost:component`) or, where AWS names are unique per account and region
//! (ALB, target group, IAM role, ECR repository, cluster, ...), the name below.

use serde::Serialize;

/// Tag every resource of a stack carries; its value is the stack name.
pub const TAG_STACK: &str = "ghost:stack";
/// Tag naming the kind of resource within the stack (`vpc`, `subnet`, `alb`, ...).
pub const TAG_COMPONENT: &str = "ghost:component";
/// AWS console's display name.
pub const TAG_NAME: &str = "Name";

/// Names derived from the stack name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Names {
    stack: String,
}

/// A tag as a plain pair; each lens converts it into its SDK's `Tag` type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Names {
    pub fn new(stack: &str) -> Self {
        Self { stack: stack.to_string() }
    }

    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// `<stack>-<suffix>`: the one naming rule every resource follows.
    pub fn of(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.stack)
    }

    pub fn alb(&self) -> String {
        self.of("alb")
    }

    /// `blue` and `green`: the pair that blue/green deployments swap between.
    pub fn target_group(&self, color: &str) -> String {
        self.of(color)
    }

    /// The tags that mark a resource as ours: stack, component and a readable Name.
    pub fn tags(&self, component: &str, name: &str) -> Vec<Tag> {
        vec![
            Tag { key: TAG_STACK.into(), value: self.stack.clone() },
            Tag { key: TAG_COMPONENT.into(), value: component.into() },
            Tag { key: TAG_NAME.into(), value: name.into() },
        ]
    }

    /// Derived names that have AWS length limits, for validation before any call:
    /// (what, name, limit).
    pub fn length_checked(&self) -> Vec<(&'static str, String, usize)> {
        vec![
            ("load balancer", self.alb(), 32),
            ("target group", self.target_group("green"), 32),
            ("target group", self.target_group("blue"), 32),
            ("IAM role", self.of("codepipeline-role"), 64),
            ("security group", self.of("task"), 255),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_stack_name_fits_every_limit() {
        let names = Names::new("abcdefghijklmnopqrst");
        for (what, name, limit) in names.length_checked() {
            assert!(name.len() <= limit, "{what} {name} > {limit}");
        }
    }

    #[test]
    fn tags_mark_stack_and_component() {
        let tags = Names::new("blog").tags("vpc", "blog-vpc");
        assert_eq!(tags[0], Tag { key: "ghost:stack".into(), value: "blog".into() });
        assert_eq!(tags[1].value, "vpc");
    }
}
