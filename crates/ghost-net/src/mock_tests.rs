//! Each network resource against mocked EC2 responses (no network): absent → create; present and equal →
//! zero write calls; drifted → the update, or a refusal where AWS cannot change it in place.
//! A write without a rule would panic the mock, so "zero writes" is enforced twice: by the absence of write
//! rules and by `num_calls() == 0` on the ones we define to watch.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::operation::authorize_security_group_ingress::AuthorizeSecurityGroupIngressOutput;
use aws_sdk_ec2::operation::create_internet_gateway::CreateInternetGatewayOutput;
use aws_sdk_ec2::operation::create_route_table::CreateRouteTableOutput;
use aws_sdk_ec2::operation::create_security_group::CreateSecurityGroupOutput;
use aws_sdk_ec2::operation::create_subnet::CreateSubnetOutput;
use aws_sdk_ec2::operation::create_vpc::CreateVpcOutput;
use aws_sdk_ec2::operation::describe_internet_gateways::DescribeInternetGatewaysOutput;
use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::operation::describe_vpc_attribute::DescribeVpcAttributeOutput;
use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, InternetGateway, InternetGatewayAttachment, IpPermission, IpRange, Route, RouteTable,
    RouteTableAssociation, SecurityGroup, Subnet, Tag, UserIdGroupPair, Vpc, VpcAttributeName,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use ghost_core::{Action, Env, Mode, Names};

use crate::spec::{NetworkSpec, RuleSource, SgRole, SubnetSpec, Tier};
use crate::{Net, RouteTableSpec};

macro_rules! always {
    ($op:expr, $out:expr) => {
        mock!($op).sequence().output($out).repeatedly().build()
    };
}

fn net(rules: &[&Rule]) -> Net {
    Net { ec2: mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules), env: Env::new("ghost", Mode::Apply) }
}

fn spec() -> NetworkSpec {
    NetworkSpec {
        names: Names::new("ghost"),
        cidr: "10.0.0.0/16".parse().unwrap(),
        az_count: 2,
        nat: false,
        https: false,
        database_sg: false,
        test_port: 8080,
        admin_cidrs: vec![],
    }
}

fn ours(component: &str) -> Vec<Tag> {
    Names::new("ghost")
        .tags(component, "x")
        .into_iter()
        .map(|t| Tag::builder().key(t.key).value(t.value).build())
        .collect()
}

fn on(v: bool) -> AttributeBooleanValue {
    AttributeBooleanValue::builder().value(v).build()
}

// --- VPC -------------------------------------------------------------------------------------------------

fn vpc(cidr: &str) -> Vpc {
    Vpc::builder().vpc_id("vpc-1").cidr_block(cidr).set_tags(Some(ours("vpc"))).build()
}

fn dns(support: bool, hostnames: bool) -> [Rule; 2] {
    [
        mock!(Client::describe_vpc_attribute)
            .match_requests(|r| r.attribute() == Some(&VpcAttributeName::EnableDnsSupport))
            .sequence()
            .output(move || DescribeVpcAttributeOutput::builder().enable_dns_support(on(support)).build())
            .repeatedly()
            .build(),
        mock!(Client::describe_vpc_attribute)
            .match_requests(|r| r.attribute() == Some(&VpcAttributeName::EnableDnsHostnames))
            .sequence()
            .output(move || DescribeVpcAttributeOutput::builder().enable_dns_hostnames(on(hostnames)).build())
            .repeatedly()
            .build(),
    ]
}

#[test]
fn every_vpc_field_is_compared() {
    let n = net(&[]);
    let vpc = crate::Vpc { net: &n, desired: crate::VpcView::desired(&spec()) };
    ghost_core::reconcile::testing::assert_every_field_compared(&vpc, std::slice::from_ref(&vpc.desired));
}

#[tokio::test]
async fn vpc_absent_is_created_with_tags_and_dns() {
    let describe = always!(Client::describe_vpcs, || DescribeVpcsOutput::builder().build());
    let create = mock!(Client::create_vpc)
        .match_requests(|r| {
            r.cidr_block() == Some("10.0.0.0/16")
                && r.tag_specifications()[0].tags().iter().any(|t| t.key() == Some("ghost:stack"))
        })
        .then_output(|| CreateVpcOutput::builder().vpc(vpc("10.0.0.0/16")).build());
    let modify = always!(Client::modify_vpc_attribute, || {
        aws_sdk_ec2::operation::modify_vpc_attribute::ModifyVpcAttributeOutput::builder().build()
    });
    let n = net(&[&describe, &create, &modify]);
    let out = crate::ensure_vpc(&n, &spec()).await.unwrap();
    assert_eq!(out.action(), Action::Create);
    // A new VPC has DNS support on already (AWS's default): only hostnames are switched on.
    assert_eq!((create.num_calls(), modify.num_calls()), (1, 1));
}

#[tokio::test]
async fn vpc_present_and_equal_makes_zero_writes() {
    let describe = always!(Client::describe_vpcs, || DescribeVpcsOutput::builder().vpcs(vpc("10.0.0.0/16")).build());
    let [support, hostnames] = dns(true, true);
    let create = always!(Client::create_vpc, || CreateVpcOutput::builder().build());
    let n = net(&[&describe, &support, &hostnames, &create]);
    let out = crate::ensure_vpc(&n, &spec()).await.unwrap();
    assert_eq!(out.action(), Action::Unchanged);
    assert_eq!(create.num_calls(), 0);
}

#[tokio::test]
async fn vpc_with_dns_hostnames_off_is_updated() {
    let describe = always!(Client::describe_vpcs, || DescribeVpcsOutput::builder().vpcs(vpc("10.0.0.0/16")).build());
    let [support, hostnames] = dns(true, false);
    let modify = mock!(Client::modify_vpc_attribute)
        .match_requests(|r| r.enable_dns_hostnames().and_then(|v| v.value()) == Some(true))
        .then_output(|| aws_sdk_ec2::operation::modify_vpc_attribute::ModifyVpcAttributeOutput::builder().build());
    let n = net(&[&describe, &support, &hostnames, &modify]);
    let out = crate::ensure_vpc(&n, &spec()).await.unwrap();
    assert_eq!(out.action(), Action::Update);
    assert_eq!(out.changes()[0].field, "dns_hostnames");
    assert_eq!(modify.num_calls(), 1);
}

#[tokio::test]
async fn vpc_with_another_cidr_is_refused_not_replaced() {
    let describe = always!(Client::describe_vpcs, || DescribeVpcsOutput::builder().vpcs(vpc("10.9.0.0/16")).build());
    let [support, hostnames] = dns(true, true);
    let n = net(&[&describe, &support, &hostnames]);
    let err = crate::ensure_vpc(&n, &spec()).await.unwrap_err();
    assert!(err.to_string().contains("cannot be changed in place"), "{err}");
}

#[tokio::test]
async fn plan_never_writes_even_when_everything_is_missing() {
    let describe = always!(Client::describe_vpcs, || DescribeVpcsOutput::builder().build());
    let create = always!(Client::create_vpc, || CreateVpcOutput::builder().build());
    let mut n = net(&[&describe, &create]);
    n.env = Env::new("ghost", Mode::Plan);
    let out = crate::ensure_vpc(&n, &spec()).await.unwrap();
    assert_eq!(out.action(), Action::Create);
    assert!(ghost_core::is_planned(out.id()));
    assert_eq!(create.num_calls(), 0);
}

// --- subnets ----------------------------------------------------------------------------------------------

fn subnet_spec() -> SubnetSpec {
    SubnetSpec {
        tier: Tier::Public,
        az: "eu-west-2a".into(),
        cidr: "10.0.0.0/19".parse().unwrap(),
        name: "ghost-public-a".into(),
    }
}

fn subnet(az: &str, public_ip: bool) -> Subnet {
    Subnet::builder()
        .subnet_id("subnet-1")
        .cidr_block("10.0.0.0/19")
        .availability_zone(az)
        .map_public_ip_on_launch(public_ip)
        .set_tags(Some(ours("subnet")))
        .build()
}

fn modify_subnet() -> Rule {
    always!(Client::modify_subnet_attribute, || {
        aws_sdk_ec2::operation::modify_subnet_attribute::ModifySubnetAttributeOutput::builder().build()
    })
}

#[tokio::test]
async fn subnet_absent_is_created_and_maps_public_ips() {
    let create = mock!(Client::create_subnet)
        .match_requests(|r| r.availability_zone() == Some("eu-west-2a") && r.cidr_block() == Some("10.0.0.0/19"))
        .then_output(|| CreateSubnetOutput::builder().subnet(subnet("eu-west-2a", false)).build());
    let modify = modify_subnet();
    let n = net(&[&create, &modify]);
    let out = crate::ensure_subnet(&n, "vpc-1", &subnet_spec(), &[]).await.unwrap();
    assert_eq!((out.action(), create.num_calls(), modify.num_calls()), (Action::Create, 1, 1));
}

#[tokio::test]
async fn subnet_present_and_equal_makes_zero_writes() {
    let modify = modify_subnet();
    let n = net(&[&modify]);
    let out = crate::ensure_subnet(&n, "vpc-1", &subnet_spec(), &[subnet("eu-west-2a", true)]).await.unwrap();
    assert_eq!((out.action(), modify.num_calls()), (Action::Unchanged, 0));
}

#[tokio::test]
async fn subnet_that_stopped_mapping_public_ips_is_updated() {
    let modify = modify_subnet();
    let n = net(&[&modify]);
    let out = crate::ensure_subnet(&n, "vpc-1", &subnet_spec(), &[subnet("eu-west-2a", false)]).await.unwrap();
    assert_eq!((out.action(), modify.num_calls()), (Action::Update, 1));
}

#[tokio::test]
async fn subnet_in_another_az_is_refused() {
    let n = net(&[]);
    let err = crate::ensure_subnet(&n, "vpc-1", &subnet_spec(), &[subnet("eu-west-2c", true)]).await.unwrap_err();
    assert!(err.to_string().contains("availability_zone"), "{err}");
}

// --- internet gateway -------------------------------------------------------------------------------------

fn igw(attached_to: Option<&str>) -> InternetGateway {
    let b = InternetGateway::builder().internet_gateway_id("igw-1").set_tags(Some(ours("internet-gateway")));
    match attached_to {
        Some(v) => b.attachments(InternetGatewayAttachment::builder().vpc_id(v).build()).build(),
        None => b.build(),
    }
}

fn attach() -> Rule {
    always!(Client::attach_internet_gateway, || {
        aws_sdk_ec2::operation::attach_internet_gateway::AttachInternetGatewayOutput::builder().build()
    })
}

#[tokio::test]
async fn igw_absent_is_created_and_attached() {
    let describe =
        always!(Client::describe_internet_gateways, || { DescribeInternetGatewaysOutput::builder().build() });
    let create = mock!(Client::create_internet_gateway)
        .then_output(|| CreateInternetGatewayOutput::builder().internet_gateway(igw(None)).build());
    let attach = attach();
    let n = net(&[&describe, &create, &attach]);
    let out = crate::ensure_internet_gateway(&n, "vpc-1").await.unwrap();
    assert_eq!((out.action(), create.num_calls(), attach.num_calls()), (Action::Create, 1, 1));
}

#[tokio::test]
async fn igw_attached_makes_zero_writes_and_detached_is_reattached() {
    for (found, action, attaches) in [(igw(Some("vpc-1")), Action::Unchanged, 0), (igw(None), Action::Update, 1)] {
        let describe = mock!(Client::describe_internet_gateways)
            .sequence()
            .output(move || DescribeInternetGatewaysOutput::builder().internet_gateways(found.clone()).build())
            .repeatedly()
            .build();
        let attach = attach();
        let n = net(&[&describe, &attach]);
        let out = crate::ensure_internet_gateway(&n, "vpc-1").await.unwrap();
        assert_eq!((out.action(), attach.num_calls()), (action, attaches));
    }
}

// --- route tables -----------------------------------------------------------------------------------------

fn rt_spec() -> RouteTableSpec {
    RouteTableSpec::public(&spec(), "igw-1", &["subnet-1".into(), "subnet-2".into()])
}

fn table(route_to: Option<&str>, subnets: &[&str]) -> RouteTable {
    let mut b = RouteTable::builder().route_table_id("rtb-1").set_tags(Some(ours("public-rt")));
    if let Some(g) = route_to {
        b = b.routes(Route::builder().destination_cidr_block("0.0.0.0/0").gateway_id(g).build());
    }
    for s in subnets {
        b = b.associations(RouteTableAssociation::builder().subnet_id(*s).main(false).build());
    }
    b.build()
}

fn route_writes() -> [Rule; 3] {
    [
        always!(Client::create_route, || {
            aws_sdk_ec2::operation::create_route::CreateRouteOutput::builder().build()
        }),
        always!(Client::replace_route, || {
            aws_sdk_ec2::operation::replace_route::ReplaceRouteOutput::builder().build()
        }),
        always!(Client::associate_route_table, || {
            aws_sdk_ec2::operation::associate_route_table::AssociateRouteTableOutput::builder().build()
        }),
    ]
}

fn describe_tables(t: Option<RouteTable>) -> Rule {
    mock!(Client::describe_route_tables)
        .sequence()
        .output(move || DescribeRouteTablesOutput::builder().set_route_tables(t.clone().map(|t| vec![t])).build())
        .repeatedly()
        .build()
}

#[tokio::test]
async fn route_table_absent_is_created_with_route_and_associations() {
    let describe = describe_tables(None);
    let create = mock!(Client::create_route_table)
        .then_output(|| CreateRouteTableOutput::builder().route_table(table(None, &[])).build());
    let [route, replace, assoc] = route_writes();
    let n = net(&[&describe, &create, &route, &replace, &assoc]);
    let out = crate::ensure_route_table(&n, "vpc-1", &rt_spec(), &[]).await.unwrap();
    assert_eq!(out.action(), Action::Create);
    assert_eq!((create.num_calls(), route.num_calls(), assoc.num_calls(), replace.num_calls()), (1, 1, 2, 0));
}

#[tokio::test]
async fn route_table_equal_makes_zero_writes() {
    let describe = describe_tables(Some(table(Some("igw-1"), &["subnet-1", "subnet-2"])));
    let [route, replace, assoc] = route_writes();
    let n = net(&[&describe, &route, &replace, &assoc]);
    let out = crate::ensure_route_table(&n, "vpc-1", &rt_spec(), &[]).await.unwrap();
    assert_eq!(out.action(), Action::Unchanged);
    assert_eq!(route.num_calls() + replace.num_calls() + assoc.num_calls(), 0);
}

#[tokio::test]
async fn route_table_with_wrong_target_and_missing_association_is_repaired() {
    let describe = describe_tables(Some(table(Some("igw-old"), &["subnet-1"])));
    let [route, replace, assoc] = route_writes();
    let n = net(&[&describe, &route, &replace, &assoc]);
    let out = crate::ensure_route_table(&n, "vpc-1", &rt_spec(), &[]).await.unwrap();
    assert_eq!(out.action(), Action::Update);
    assert_eq!(out.changes().len(), 2, "{:?}", out.changes());
    assert_eq!((route.num_calls(), replace.num_calls(), assoc.num_calls()), (0, 1, 1));
}

// --- security groups --------------------------------------------------------------------------------------

fn group(name: &str, id: &str, description: &str, perms: Vec<IpPermission>) -> SecurityGroup {
    SecurityGroup::builder()
        .group_name(name)
        .group_id(id)
        .description(description)
        .set_ip_permissions(Some(perms))
        .set_tags(Some(ours("security-group")))
        .build()
}

fn tcp(port: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder().ip_protocol("tcp").from_port(port).to_port(port)
}

/// The groups as this lens writes them (`sg-<suffix>` ids), with the task group's rule optionally missing
/// and an SSH rule somebody added to the ALB's.
fn all_groups(extra_alb_rule: bool, task_rule: bool) -> Vec<SecurityGroup> {
    let id = |role: SgRole| format!("sg-{}", role.suffix());
    spec()
        .security_groups()
        .iter()
        .map(|g| {
            let mut perms: Vec<IpPermission> = g
                .rules
                .iter()
                .map(|r| {
                    let p = tcp(i32::from(r.port));
                    match &r.from {
                        RuleSource::Cidr(c) => {
                            p.ip_ranges(IpRange::builder().cidr_ip(c).description(&r.description).build())
                        }
                        RuleSource::Group(role) => p.user_id_group_pairs(
                            UserIdGroupPair::builder().group_id(id(*role)).description(&r.description).build(),
                        ),
                    }
                    .build()
                })
                .collect();
            if g.role == SgRole::Task && !task_rule {
                perms.clear();
            }
            if g.role == SgRole::Alb && extra_alb_rule {
                perms.push(tcp(22).ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build()).build());
            }
            group(&g.name, &id(g.role), &g.description, perms)
        })
        .collect()
}

fn describe_groups(groups: Vec<SecurityGroup>) -> Rule {
    mock!(Client::describe_security_groups)
        .sequence()
        .output(move || DescribeSecurityGroupsOutput::builder().set_security_groups(Some(groups.clone())).build())
        .repeatedly()
        .build()
}

fn sg_writes() -> [Rule; 2] {
    [
        always!(Client::create_security_group, || { CreateSecurityGroupOutput::builder().group_id("sg-new").build() }),
        always!(Client::authorize_security_group_ingress, || {
            AuthorizeSecurityGroupIngressOutput::builder().build()
        }),
    ]
}

#[tokio::test]
async fn security_groups_absent_are_created_with_their_rules() {
    let describe = describe_groups(vec![]);
    let [create, authorize] = sg_writes();
    let n = net(&[&describe, &create, &authorize]);
    let ids = crate::ensure_security_groups(&n, "vpc-1", &spec().security_groups()).await.unwrap();
    assert_eq!(ids.len(), 3);
    assert_eq!((create.num_calls(), authorize.num_calls()), (3, 3));
    assert!(n.env.records().iter().all(|r| r.action == Action::Create));
}

#[tokio::test]
async fn security_groups_equal_make_zero_writes() {
    let describe = describe_groups(all_groups(false, true));
    let [create, authorize] = sg_writes();
    let n = net(&[&describe, &create, &authorize]);
    let ids = crate::ensure_security_groups(&n, "vpc-1", &spec().security_groups()).await.unwrap();
    assert_eq!(ids[&SgRole::Task], "sg-task");
    assert_eq!(create.num_calls() + authorize.num_calls(), 0);
    assert!(n.env.records().iter().all(|r| r.action == Action::Unchanged));
    assert!(n.env.warnings().is_empty());
}

#[tokio::test]
async fn a_missing_rule_is_added_and_a_foreign_rule_is_reported_only() {
    let describe = describe_groups(all_groups(true, false));
    let [create, authorize] = sg_writes();
    let n = net(&[&describe, &create, &authorize]);
    crate::ensure_security_groups(&n, "vpc-1", &spec().security_groups()).await.unwrap();
    assert_eq!((create.num_calls(), authorize.num_calls()), (0, 1));
    let updated: Vec<_> = n.env.records().into_iter().filter(|r| r.action == Action::Update).map(|r| r.name).collect();
    assert_eq!(updated, ["ghost-task"]);
    let warnings = n.env.warnings();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].message.contains("tcp 22 from 0.0.0.0/0"), "{warnings:?}");
}

// --- NAT gateway ------------------------------------------------------------------------------------------

fn nat(state: aws_sdk_ec2::types::NatGatewayState) -> aws_sdk_ec2::types::NatGateway {
    aws_sdk_ec2::types::NatGateway::builder()
        .nat_gateway_id("nat-1")
        .state(state)
        .subnet_id("subnet-1")
        .nat_gateway_addresses(aws_sdk_ec2::types::NatGatewayAddress::builder().allocation_id("eipalloc-1").build())
        .set_tags(Some(ours("nat-gateway")))
        .build()
}

fn address() -> aws_sdk_ec2::types::Address {
    aws_sdk_ec2::types::Address::builder()
        .allocation_id("eipalloc-1")
        .domain(aws_sdk_ec2::types::DomainType::Vpc)
        .set_tags(Some(ours("elastic-ip")))
        .build()
}

fn nat_writes() -> [Rule; 4] {
    use aws_sdk_ec2::operation::*;
    [
        always!(Client::allocate_address, || {
            allocate_address::AllocateAddressOutput::builder().allocation_id("eipalloc-1").build()
        }),
        always!(Client::create_nat_gateway, || {
            create_nat_gateway::CreateNatGatewayOutput::builder()
                .nat_gateway(nat(aws_sdk_ec2::types::NatGatewayState::Pending))
                .build()
        }),
        always!(Client::delete_nat_gateway, || { delete_nat_gateway::DeleteNatGatewayOutput::builder().build() }),
        always!(Client::release_address, || { release_address::ReleaseAddressOutput::builder().build() }),
    ]
}

#[tokio::test]
async fn nat_absent_is_created_and_waited_for() {
    use aws_sdk_ec2::operation::{
        describe_addresses::DescribeAddressesOutput, describe_nat_gateways::DescribeNatGatewaysOutput,
    };
    use aws_sdk_ec2::types::NatGatewayState;
    let addresses = always!(Client::describe_addresses, || { DescribeAddressesOutput::builder().build() });
    // First the find (nothing there), then the waiter's polls (available).
    let nats = mock!(Client::describe_nat_gateways)
        .sequence()
        .output(|| DescribeNatGatewaysOutput::builder().build())
        .output(|| DescribeNatGatewaysOutput::builder().nat_gateways(nat(NatGatewayState::Available)).build())
        .repeatedly()
        .build();
    let [allocate, create, delete, release] = nat_writes();
    let n = net(&[&addresses, &nats, &allocate, &create, &delete, &release]);
    let with_nat = NetworkSpec { nat: true, ..spec() };
    let id = crate::ensure_nat(&n, &with_nat, "subnet-1").await.unwrap();
    assert_eq!(id.as_deref(), Some("nat-1"));
    assert_eq!((allocate.num_calls(), create.num_calls(), delete.num_calls()), (1, 1, 0));
}

/// A run killed while the NAT gateway was coming up: the next run finds it pending and waits for it (no second
/// NAT gateway, no write) before the private route is built on it.
#[tokio::test(start_paused = true)]
async fn a_pending_nat_gateway_found_by_a_rerun_is_waited_for_with_zero_writes() {
    use aws_sdk_ec2::operation::{
        describe_addresses::DescribeAddressesOutput, describe_nat_gateways::DescribeNatGatewaysOutput,
    };
    use aws_sdk_ec2::types::NatGatewayState;
    let addresses =
        always!(Client::describe_addresses, || { DescribeAddressesOutput::builder().addresses(address()).build() });
    let nats = mock!(Client::describe_nat_gateways)
        .sequence()
        .output(|| DescribeNatGatewaysOutput::builder().nat_gateways(nat(NatGatewayState::Pending)).build())
        .times(3)
        .output(|| DescribeNatGatewaysOutput::builder().nat_gateways(nat(NatGatewayState::Available)).build())
        .repeatedly()
        .build();
    let [allocate, create, delete, release] = nat_writes();
    let n = net(&[&addresses, &nats, &allocate, &create, &delete, &release]);
    let id = crate::ensure_nat(&n, &NetworkSpec { nat: true, ..spec() }, "subnet-1").await.unwrap();
    assert_eq!(id.as_deref(), Some("nat-1"));
    assert_eq!(nats.num_calls(), 4, "the pending find and two pending polls, then available");
    assert_eq!(allocate.num_calls() + create.num_calls() + delete.num_calls() + release.num_calls(), 0);
    let nat = n.env.records().into_iter().find(|r| r.kind == "nat-gateway").unwrap();
    assert_eq!(nat.action, Action::Unchanged);
}

#[test]
fn every_nat_field_is_compared() {
    let n = net(&[]);
    let desired = crate::gateway::NatView { subnet: "subnet-1".into(), allocation: "eipalloc-1".into() };
    let nat = crate::gateway::Nat { net: &n, desired: desired.clone(), planned_inputs: false };
    ghost_core::reconcile::testing::assert_every_field_compared(&nat, &[desired]);
    let desired = crate::gateway::AddressView { domain: "vpc".into() };
    let eip = crate::gateway::NatAddress { net: &n, desired: desired.clone() };
    ghost_core::reconcile::testing::assert_every_field_compared(&eip, &[desired]);
}

#[tokio::test]
async fn nat_present_makes_zero_writes_and_goes_when_tasks_move_to_public_subnets() {
    use aws_sdk_ec2::operation::{
        describe_addresses::DescribeAddressesOutput, describe_nat_gateways::DescribeNatGatewaysOutput,
    };
    use aws_sdk_ec2::types::NatGatewayState;
    let addresses =
        always!(Client::describe_addresses, || { DescribeAddressesOutput::builder().addresses(address()).build() });
    let nats = always!(Client::describe_nat_gateways, || {
        DescribeNatGatewaysOutput::builder().nat_gateways(nat(NatGatewayState::Available)).build()
    });
    let [allocate, create, delete, release] = nat_writes();
    let n = net(&[&addresses, &nats, &allocate, &create, &delete, &release]);
    let id = crate::ensure_nat(&n, &NetworkSpec { nat: true, ..spec() }, "subnet-1").await.unwrap();
    assert_eq!(id.as_deref(), Some("nat-1"));
    assert_eq!(allocate.num_calls() + create.num_calls() + delete.num_calls() + release.num_calls(), 0);

    // Public tasks: the NAT is deleted (the waiter sees "deleted") and its address released.
    let gone = mock!(Client::describe_nat_gateways)
        .sequence()
        .output(|| DescribeNatGatewaysOutput::builder().nat_gateways(nat(NatGatewayState::Available)).build())
        .output(|| DescribeNatGatewaysOutput::builder().nat_gateways(nat(NatGatewayState::Deleted)).build())
        .repeatedly()
        .build();
    let [allocate, create, delete, release] = nat_writes();
    let n = net(&[&addresses, &gone, &allocate, &create, &delete, &release]);
    assert_eq!(crate::ensure_nat(&n, &spec(), "subnet-1").await.unwrap(), None);
    assert_eq!((delete.num_calls(), release.num_calls(), create.num_calls()), (1, 1, 0));
}

#[tokio::test]
async fn a_rule_of_ours_the_config_dropped_is_revoked_and_a_foreign_one_is_kept() {
    let mut groups = all_groups(true, true);
    let https = tcp(443).ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").description("HTTPS from anywhere").build());
    groups[0].ip_permissions.get_or_insert_with(Vec::new).push(https.build());
    let describe = describe_groups(groups);
    let [create, authorize] = sg_writes();
    let revoke = always!(Client::revoke_security_group_ingress, || {
        aws_sdk_ec2::operation::revoke_security_group_ingress::RevokeSecurityGroupIngressOutput::builder().build()
    });
    let n = net(&[&describe, &create, &authorize, &revoke]);
    assert!(!spec().https, "the fixture serves HTTP only");
    crate::ensure_security_groups(&n, "vpc-1", &spec().security_groups()).await.unwrap();
    assert_eq!((create.num_calls(), authorize.num_calls(), revoke.num_calls()), (0, 0, 1));
    let warnings = n.env.warnings();
    assert!(warnings.len() == 1 && warnings[0].message.contains("tcp 22 from 0.0.0.0/0"), "{warnings:?}");
}

// --- field coverage of the kinds not covered above -----------------------------------------------------------

#[test]
fn every_field_of_a_subnet_gateway_route_table_and_security_group_is_compared() {
    use ghost_core::reconcile::testing::assert_every_field_compared;
    let n = net(&[]);
    let sub = subnet_spec();
    let s = crate::SubnetKind::new(&n, "vpc-1", &sub, &[]);
    assert_every_field_compared(&s, std::slice::from_ref(&s.desired));
    let igw = crate::InternetGatewayKind { net: &n, desired: crate::GatewayView { attached_to: Some("vpc-1".into()) } };
    // Attached elsewhere is a conflict the user resolves; none -> attached is the update.
    let detached = crate::GatewayView { attached_to: None };
    assert_every_field_compared(&igw, &[igw.desired.clone(), detached]);
    let rt = rt_spec();
    let r = crate::RouteTableKind::new(&n, "vpc-1", &rt, &[]);
    let no_route = crate::RouteTableView { default_route: None, subnets: vec!["subnet-a".into()] };
    assert_every_field_compared(&r, &[r.desired.clone(), no_route]);
    let g = crate::SecurityGroupKind {
        net: &n,
        vpc_id: "vpc-1",
        name: "ghost-task",
        found: None,
        desired: crate::GroupView {
            description: "Ghost tasks".into(),
            ingress: vec![crate::IngressView {
                protocol: "tcp".into(),
                from_port: 2368,
                to_port: 2368,
                source: "sg-alb".into(),
                description: "Ghost from the load balancer".into(),
            }],
        },
    };
    assert_every_field_compared(&g, std::slice::from_ref(&g.desired));
}
