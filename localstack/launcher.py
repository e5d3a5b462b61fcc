"""The local AWS emulator: moto's WSGI app wrapped by our own middleware, served on 127.0.0.1.

This is the one place for every emulator extension. Each is documented against what AWS does:

* Call recorder: every AWS request is recorded as (access key, service, action, mutating, HTTP status).
  `GET /_ghost/calls[?key=AKID]` lists them, `POST /_ghost/calls/clear[?key=AKID]` forgets them. Callers that
  want their own count use their own access key id (moto maps every key to the same account), so tests that
  share one emulator do not see each other's calls. This is the instrument for "zero writes".
* Fault injection, per access key (the fault-injecting front of the test harness): `POST /_ghost/faults` with
  `{"key": AKID, ...}` and any of:
  - `"crash_after_mutating": k`: a process killed at its k-th write. `"crash_as": "error"` (default) lets k
    mutating calls through and fails every later call of that key with a non-retryable AWS error (code
    `InjectedCrash`) in the protocol the caller speaks, so the SDK surfaces it at once. `"crash_as": "drop"` lets
    moto make the k-th mutating call and then drops its connection unanswered (the change happened, the caller
    never heard), and drops every later call unprocessed: the SDK sees transport errors, retries, gives up.
  - `"transient_fraction": f` (0-1) with `"transient_seed": n`: that fraction of calls (seeded, so a run is
    reproducible up to the order concurrent calls arrive in) is refused before moto sees it — throttled (400
    `ThrottlingException`, `RequestLimitExceeded` on EC2), 429 `TooManyRequestsException`, or 503
    `ServiceUnavailable`, in the caller's protocol — except a call's last attempt (the SDK's `amz-sdk-request:
    attempt=N; max=M` header), so faults exercise the SDK's retries without making a run's outcome a dice roll.
  - `"crash_after_action": "CreateLoadBalancer"`: the same crash, right after the key's first call of that action
    or REST operation ("DeleteMountTarget") that takes effect, made and answered (or with "drop" made and its answer
    lost): a process killed during what follows it. A call refused (an id still propagating) does not trip it.
  - `"throttle_action": "CreateTargetGroup"`: every attempt of every call of that action (or REST operation) is
    throttled, the last one too: the SDK's retries run out and the caller sees the throttling error.
  - `"latency_ms": n`: every call of the key waits n ms before it is handled (calls in flight wait in parallel).
  - `"clock_factor": f`: the lifecycle clock's factor for the resources the key creates (see "Lifecycle clock").
  Injected faults are recorded on the call (`"injected": "crash" | "drop" | "throttle" | "429" | "503"`), so a
  run's retry count is read from the recorder. `DELETE /_ghost/faults?key=AKID` turns them off.
* `GET /_ghost/health`: readiness probe (moto version, pid, clock factor).
* Input validation: every JSON, query, REST-JSON and CBOR request is checked against botocore's model of its service
  (lengths, patterns, enums, ranges, required members) and against hand rules for what the API references state
  only in prose, and refused as AWS refuses it; `--rule-table` prints the table of what is checked (rules.md).
* Lifecycle clock: NAT gateways, load balancers, EFS file systems and mount targets, and RDS instances come up
  through AWS's states over AWS's typical durations times a factor (`--clock-factor`, default 0.01; `POST
  /_ghost/clock {"factor"}`), and EFS and RDS refuse what AWS refuses on a resource that is not ready yet.
* What outlives its owner: load balancers, NAT gateways, mount targets, databases and ECS tasks hold requester-
  managed network interfaces in their subnets, deletes leave them `deleting` / `DRAINING` on the same clock, and
  subnets, security groups, the internet gateway, the VPC, the cluster and the DB subnet group refuse to go while
  something still holds them (DependencyViolation, ClusterContains*Exception, InvalidDBSubnetGroupStateFault).
* IAM propagation: a new role is not assumable by CodeBuild, CodePipeline, CodeDeploy or as an EFS policy principal
  for 10 AWS seconds (scaled), and the first CreateCluster with capacity providers waits for ECS's service-linked
  role to propagate; each refuses with the service's own error.
* ECS CreateService keeps `deploymentConfiguration`, `loadBalancers`, `capacityProviderStrategy` and
  `healthCheckGracePeriodSeconds` (moto 5.2.5 drops them on create and only stores them on UpdateService; AWS
  stores them on create and DescribeServices returns them): after a successful CreateService that carried any,
  the same fields are applied through moto's UpdateService.
* EFS backup policy (moto 5.2.5 lacks it): `PUT|GET /2015-02-01/file-systems/{id}/backup-policy` as in the EFS
  API reference (PutBackupPolicy / DescribeBackupPolicy: body `{"BackupPolicy": {"Status": "ENABLED"}}`;
  `PolicyNotFound` (404) until one is put).
* CodeBuild UpdateProject (missing in moto): AWS replaces each field the request names (source, artifacts,
  environment, serviceRole, logsConfig, timeouts, tags, badgeEnabled, ...; the members of the API's
  UpdateProjectInput) and answers `{"project": ...}` as BatchGetProjects shows it, `ResourceNotFoundException` for an
  unknown name; so do we. CreateProject, as on AWS, takes a CODEPIPELINE (or NO_SOURCE) source and CODEPIPELINE
  artifacts without `location` (moto demanded one), defaults the timeouts to 60 / 480 minutes (moto: 0) and reports
  `lastModified` (moto stored it under a name its serializer drops).
* CodeDeploy UpdateDeploymentGroup (any CreateDeploymentGroup field, `newDeploymentGroupName` renames; `{}` for ECS,
  whose groups have no lifecycle hooks), DeleteDeploymentGroup (`{"hooksNotCleanedUp": []}`), DeleteApplication (and
  its groups) and StopDeployment (status `Stopped`, answer `{"status": "Succeeded", ...}`,
  `DeploymentAlreadyCompletedException` once finished): all missing in moto. Deletes are idempotent, as on AWS (their
  API reference lists no "does not exist" error). GetDeploymentGroup returns the stored `alarmConfiguration` (moto
  answered `{}`), and ListDeploymentGroups of an unknown application fails with `ApplicationDoesNotExistException`
  as on AWS (moto listed nothing). CreateDeployment goes through AWS's phases on the lifecycle clock: `InProgress`
  while the replacement task set comes up, then traffic shifted (the service on the AppSpec's task definition, both
  listeners a weighted forward to the replacement target group with the original at weight 0, as CodeDeploy leaves
  them, `instanceTerminationWaitTimeStarted`), then `Succeeded` after the group's termination wait; StopDeployment
  with rollback during that wait reroutes traffic back. `POST /_ghost/codedeploy/hold?on=1[&application=NAME]`
  (`on=0` to release) keeps new deployments (of that application) `InProgress` before the shift instead, for tests
  of a release in flight.
* CodePipeline executions run stage by stage on the lifecycle clock (CreatePipeline starts one, as AWS does; a
  source with nothing to fetch fails it), GetPipelineState (one stage state per stage, each action by name, the
  newest execution's progress) and StopPipelineExecution (a running one `Stopped`, any other refused with
  `PipelineExecutionNotStoppableException`); CodeCommit PutFile and GetBranch (commits, branches). GetPipeline's
  metadata, ListPipelines and ListPipelineExecutions carry epoch-second timestamps as AWS's JSON protocol does (moto
  wrote ISO strings, which only lenient parsers accept).
* CodeConnections (no moto backend): CreateConnection, GetConnection, ListConnections, DeleteConnection,
  ListTagsForResource, TagResource, UntagResource, in the JSON protocol (boto3) and in Smithy RPC v2 CBOR (the Rust
  SDK). A connection is created `PENDING`, as on AWS, where a person completes the provider handshake in the
  console; nothing here completes it unless a test asks: `POST /_ghost/connections/complete?arn=ARN` -> `AVAILABLE`.
* RDS-managed master secrets (ManageMasterUserPassword) hold the instance's username and a generated password and
  rotate as RDS rotates them: every 7 AWS days on the instance's clock, on demand (ModifyDBInstance
  RotateMasterUserPassword, Secrets Manager RotateSecret), `rotating` for a minute, the old password then the
  secret's AWSPREVIOUS; `POST /_ghost/rotation/run` brings every schedule's next turn forward to now.
* AWS Backup's recovery points of EFS automatic backups (ListRecoveryPointsByResource / ByBackupVault,
  DescribeRecoveryPoint, DeleteRecoveryPoint, the vault access policy), missing in moto; the nightly job runs on
  `POST /_ghost/backup/run`.
* S3 GetBucketVersioning answers with AWS's `VersioningConfiguration` root element (moto: `GetBucketVersioningResponse`,
  which the Rust SDK's strict XML parser rejects).
* Smithy RPC v2 CBOR bridge: the Rust SDK speaks CBOR to CloudWatch (`POST /service/GraniteServiceVersion20100801/
  operation/<Op>`, `smithy-protocol: rpc-v2-cbor`), which moto answers 404. The request becomes the JSON-protocol
  request moto serves (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`), the answer goes back as CBOR with the
  header `smithy-protocol: rpc-v2-cbor`; botocore's model of the service drives the types (timestamps as CBOR tag 1,
  doubles as CBOR floats, blobs as byte strings); errors are `{"__type", "message"}` with moto's status and
  `x-amzn-query-error`. Every CloudWatch operation moto has passes through (alarms, dashboards, tags, metrics).

`POST /moto-api/reset` (moto's own) also clears our recorder, faults, backup policies, recovery points and
connections.
"""

import argparse
import base64
import datetime
import fnmatch
import functools
import gzip
import heapq
import http
import io
import itertools
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid

import botocore
import botocore.session
import cbor2
from botocore.utils import parse_timestamp
from werkzeug.serving import run_simple

from moto import __version__ as moto_version
from moto.cloudwatch.models import Alarm, CloudWatchBackend
from moto.cloudwatch.responses import CloudWatchResponse
from moto.codebuild import exceptions as codebuild_errors
from moto.codebuild import responses as codebuild_responses
from moto.codebuild.models import CodeBuild, CodeBuildBackend
from moto.codedeploy import exceptions as codedeploy_errors
from moto.codedeploy import responses as codedeploy_responses
from moto.codedeploy.models import CodeDeployBackend
from moto.codecommit.exceptions import RepositoryDoesNotExistException
from moto.codecommit.models import CodeCommitBackend
from moto.codecommit.responses import CodeCommitResponse
from moto.codepipeline.exceptions import InvalidStructureException, PipelineNotFoundException
from moto.codepipeline.models import CodePipeline, CodePipelineBackend, PipelineExecution
from moto.codepipeline.responses import CodePipelineResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import camelcase_to_underscores, unix_time, utcnow
from moto.ec2 import exceptions as ec2_errors
from moto.ec2.models import EC2Backend, ec2_backends
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.nat_gateways import NatGateway
from moto.ec2.utils import random_public_ip
from moto.ecs import exceptions as ecs_errors
from moto.ecs.models import EC2ContainerServiceBackend
from moto.efs import exceptions as efs_errors
from moto.efs.models import EFSBackend, FileSystem, MountTarget
from moto.iam import models as iam_models
from moto.kms.responses import KmsResponse
from moto.iam.models import Role, iam_backends
from moto.elbv2.models import ELBv2Backend, FakeLoadBalancer, elbv2_backends
from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBInstance, MasterUserSecret, RDSBackend
from moto.secretsmanager.models import SecretsManagerBackend
from moto.moto_server.threaded_moto_server import DomainDispatcherApplication, create_backend_app

# Actions that only read. Anything else is a write ("mutating").
READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Head", "Search", "Lookup", "Filter", "Query", "Scan", "Select")
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
CBOR_PATH = re.compile(r"^/service/([^/]+)/operation/([A-Za-z0-9]+)$")
EFS_BACKUP_POLICY = re.compile(r"^/2015-02-01/file-systems/([^/]+)/backup-policy/?$")
# Smithy RPC v2 CBOR services we bridge (the service shape in the URL -> botocore's name). moto speaks none of them.
CBOR_SERVICES = {"GraniteServiceVersion20100801": "cloudwatch", "CodeConnections_20231201": "codeconnections"}
CODECONNECTIONS_TARGET = "CodeConnections_20231201"  # boto3 sends com.amazonaws.codeconnections.CodeConnections_...


def is_read(action):
    if " " in action:  # a REST call, named "METHOD /path": only GET and HEAD read
        return action.split(" ", 1)[0] in ("GET", "HEAD")
    return action.startswith(READ_PREFIXES)


@functools.lru_cache(maxsize=None)
def service_model(name):
    """botocore's model of an AWS service: the API reference in machine form (members, types, enums)."""
    return botocore.session.get_session().get_service_model(name)


def patch(cls, name):
    """Adds (or replaces) method `name` of a moto class. moto's JSON responses dispatch an action to the method
    named camel_to_snake(action), so a response method is all a missing operation needs."""
    def install(fn):
        setattr(cls, name, fn)
        return fn
    return install


# --- Lifecycle clock -----------------------------------------------------------------------------------------------
# moto makes every resource at once; AWS takes minutes, and refuses to use a resource before it is ready. A resource
# made here passes through the states AWS reports while it comes up, each for AWS's typical duration (AWS_SECONDS)
# times the clock factor. The factor is the launcher's (--clock-factor, GHOST_EMULATOR_CLOCK_FACTOR, default
# DEFAULT_CLOCK_FACTOR) or the creating caller's own (fault "clock_factor"), fixed per resource when it is created:
# a test can hold one resource in its pending state for as long as it needs while the rest of the run stays fast.
# Factor 0 turns the clock off (everything ready at once, as moto alone).
DEFAULT_CLOCK_FACTOR = 0.01
CLOCK = {"factor": DEFAULT_CLOCK_FACTOR}
CALLER = threading.local()  # the clock factor of the request this thread serves (None: the launcher's)

# Typical seconds on AWS per phase, from AWS's guides (localstack/README.md "Lifecycle clock" cites each).
AWS_SECONDS = {
    "nat-gateway/pending": 90,
    "load-balancer/provisioning": 150,
    "file-system/creating": 30,
    "mount-target/creating": 90,
    "db-instance/creating": 420,
    "db-instance/creating-multi-az": 720,
    "db-instance/backing-up": 120,
}


def clock_factor():
    factor = getattr(CALLER, "factor", None)
    return CLOCK["factor"] if factor is None else factor


def aws_age(obj):
    """AWS seconds since `obj` was created on the clock (infinite for what predates it or when the clock is off)."""
    born, factor = obj.__dict__.get("_ghost_born"), obj.__dict__.get("_ghost_factor", 0)
    if born is None or factor <= 0:
        return float("inf")
    return (time.time() - born) / factor


def lifecycle(cls, attr, ready, phases):
    """Makes `cls.attr` read as AWS reports it while the resource comes up: while the stored value is `ready`, each
    (phase seconds, state) of `phases` in turn, by the resource's age. moto's own writes (deleting, stopped, ...)
    are kept and reported as they are."""
    original_init = cls.__init__
    store = f"_ghost_{attr}"

    def __init__(self, *args, **kwargs):
        self.__dict__.update(_ghost_born=time.time(), _ghost_factor=clock_factor())
        original_init(self, *args, **kwargs)

    def get(self):
        value = self.__dict__.get(store)
        if value != ready:
            return value
        age = aws_age(self)
        for seconds, state in phases:
            seconds = seconds(self) if callable(seconds) else seconds
            if age < seconds:
                return state
            age -= seconds
        return value

    def put(self, value):
        self.__dict__[store] = value

    cls.__init__ = __init__
    setattr(cls, attr, property(get, put))


# EC2 User Guide, "NAT gateways": a new gateway is `pending` until it is `available`.
lifecycle(NatGateway, "state", "available", [(AWS_SECONDS["nat-gateway/pending"], "pending")])
# ELB User Guide, "Application Load Balancers" (load balancer state): `provisioning` until `active`. moto activates a
# balancer on its first describe; that activation now waits for the clock.
lifecycle(FakeLoadBalancer, "state", "active", [(AWS_SECONDS["load-balancer/provisioning"], "provisioning")])
# EFS API reference, FileSystemDescription / MountTargetDescription LifeCycleState: `creating` until `available`.
lifecycle(FileSystem, "life_cycle_state", "available", [(AWS_SECONDS["file-system/creating"], "creating")])
lifecycle(MountTarget, "life_cycle_state", "available", [(AWS_SECONDS["mount-target/creating"], "creating")])
# RDS User Guide, "Viewing Amazon RDS DB instance status": `creating`, then `backing-up` (the first automated
# backup), then `available`; a Multi-AZ instance takes longer to create. DBInstance Endpoint: "may not be present
# while the instance is being created" -- absent here while `creating`.
lifecycle(DBInstance, "status", "available", [
    (lambda db: AWS_SECONDS["db-instance/creating-multi-az" if db.multi_az else "db-instance/creating"], "creating"),
    (AWS_SECONDS["db-instance/backing-up"], "backing-up"),
])
_db_endpoint = DBInstance.endpoint
DBInstance.endpoint = property(lambda db: None if db.status == "creating" else _db_endpoint.fget(db))

# info_json lists the public attributes; the state now lives behind a property, so it is added back.
for _model in (FileSystem, MountTarget):
    _model.info_json = (lambda original: lambda self: dict(original(self), LifeCycleState=self.life_cycle_state))(
        _model.info_json)


class IncorrectFileSystemLifeCycleState(efs_errors.EFSError):
    code = 409

    def __init__(self, fs):
        super().__init__("IncorrectFileSystemLifeCycleState",
                         f"File system '{fs.file_system_id}' is {fs.life_cycle_state}; it must be available.")


def efs_file_system_ready(fs):
    """EFS API reference: CreateMountTarget, CreateAccessPoint, PutLifecycleConfiguration, PutFileSystemPolicy and
    PutBackupPolicy each fail with IncorrectFileSystemLifeCycleState (409) unless the file system is available."""
    if fs is not None and fs.life_cycle_state != "available":
        raise IncorrectFileSystemLifeCycleState(fs)


def _needs_available_file_system(name, fs_of):
    original = getattr(EFSBackend, name)

    @functools.wraps(original)
    def guarded(self, *args, **kwargs):
        efs_file_system_ready(self.file_systems_by_id.get(fs_of(args, kwargs)))
        return original(self, *args, **kwargs)

    setattr(EFSBackend, name, guarded)


_needs_available_file_system("create_mount_target", lambda a, kw: kw.get("file_system_id", a[0] if a else None))
_needs_available_file_system("create_access_point", lambda a, kw: kw.get("file_system_id", a[2] if len(a) > 2 else None))
_needs_available_file_system("put_lifecycle_configuration", lambda a, kw: kw.get("file_system_id", a[0] if a else None))
_needs_available_file_system("put_file_system_policy", lambda a, kw: kw.get("file_system_id", a[0] if a else None))

# RDS API reference, ModifyDBInstance: InvalidDBInstanceState "the DB instance isn't in a valid state" -- a
# creating instance cannot be modified.
_rds_modify = RDSBackend.modify_db_instance


@functools.wraps(_rds_modify)
def _rds_modify_when_ready(self, db_instance_identifier, db_kwargs):
    db = self.databases.get(db_instance_identifier)
    if db is not None and db.status == "creating":
        raise RDSClientError("InvalidDBInstanceState",
                             f"Instance {db_instance_identifier} is creating; it can be modified once available.")
    return _rds_modify(self, db_instance_identifier, db_kwargs)


RDSBackend.modify_db_instance = _rds_modify_when_ready


# --- What outlives its owner: deletions that take time, network interfaces, deletion dependencies -----------------
# On AWS a delete returns before the resource is gone, and the network interfaces a service placed in our subnets (a
# load balancer's, a NAT gateway's, a mount target's, a database's, each Fargate task's) go only after their owner,
# on AWS's schedule. Until then the subnet, the security groups, the internet gateway and the VPC refuse to go
# (DependencyViolation), a cluster with tasks refuses (ClusterContainsTasksException), a DB subnet group in use
# refuses. moto deletes at once and checks none of it. Here each owner holds service-managed interfaces (requester-
# managed, with AWS's descriptions, visible in DescribeNetworkInterfaces), and a deletion finishes `later`, after
# AWS's typical seconds times the clock factor. docs/aws/deletion-dependencies.md and docs/aws/ecs.md hold the
# research and its sources; localstack/README.md "What outlives its owner" the table.
AWS_SECONDS.update({
    "nat-gateway/deleting": 60,  # terraform-provider-aws#49299: "Destruction complete after 1m1s"
    "load-balancer/interfaces": 90,  # undocumented ("some minutes"); ~1 min observed (aws-load-balancer-controller#208)
    "mount-target/deleting": 60,
    "db-instance/deleting": 300,  # 3-6 min observed (hashicorp/terraform#32358)
    "ecs-task/stop-timeout": 30,  # ContainerDefinition stopTimeout, Fargate default
    "ecs-task/deprovisioning": 30,  # the task's interface detached and deleted (task lifecycle, DEPROVISIONING)
})

LATER_LOCK = threading.RLock()
LATER = []  # heap of (wall-clock due time, sequence, action)
LATER_SEQ = itertools.count()


def later(aws_seconds, action):
    """Runs `action` once `aws_seconds` have passed on the caller's clock (at once with the clock off). Returns the
    wall-clock time it is due."""
    return later_at(time.time() + max(aws_seconds, 0) * clock_factor(), action)


def later_at(due, action):
    """Runs `action` at wall-clock time `due` (at once if that has passed); returns `due`."""
    if due <= time.time():
        action()
        return due
    with LATER_LOCK:
        heapq.heappush(LATER, (due, next(LATER_SEQ), action))
    return due


def run_due():
    """What has come due happens before the request that might observe it (every request calls this first)."""
    while True:
        with LATER_LOCK:
            if not LATER or LATER[0][0] > time.time():
                return
            _, _, action = heapq.heappop(LATER)
            try:
                action()
            except Exception as e:  # the resource went another way meanwhile: nothing left to finish
                print(f"emulator: a deferred deletion found nothing to do: {e!r}", file=sys.stderr)


def _existing_groups(ec2, groups):
    return [g for g in (ec2.get_security_group_from_id(gid) for gid in groups or []) if g is not None]


def service_interface(ec2, subnet_id, groups, description, requester, kind="interface", public=False):
    """A requester-managed interface as an AWS service creates it in the caller's subnet (EC2 User Guide,
    "Requester-managed network interfaces")."""
    eni = ec2.create_network_interface(subnet=subnet_id, private_ip_address=None, description=description)
    eni._group_set = _existing_groups(ec2, groups)
    eni.requester_managed, eni.requester_id, eni.interface_type, eni.status = True, requester, kind, "in-use"
    if public:
        eni.public_ip = random_public_ip()
    return eni


_eni_association = NetworkInterface.association.fget


def _association(eni):
    """moto writes the association's keys in lower camel case, which DescribeNetworkInterfaces' serializer does not
    match, so a public address never showed; the model's member names are added beside them."""
    found = _eni_association(eni)
    return dict(found, **{k[0].upper() + k[1:]: v for k, v in found.items()})


NetworkInterface.association = property(_association)


def release_interface(ec2, eni_id):
    for address in ec2.addresses:
        if address.eni is not None and address.eni.id == eni_id:
            address.eni, address.association_id = None, None
    ec2.enis.pop(eni_id, None)


def sync_interfaces(owner, ec2, wanted, make, linger_s):
    """Makes `owner`'s interfaces those of `wanted` ({key: (subnet, groups, public)}): new ones are made, kept ones
    follow the groups, dropped ones are released after `linger_s` AWS seconds. Returns when the last drop is due."""
    have = owner.__dict__.setdefault("_ghost_enis", {})
    due = time.time()
    for key in [k for k in have if k not in wanted]:
        eni_id = have.pop(key)
        due = max(due, later(linger_s, lambda e=eni_id: release_interface(ec2, e)))
    for key, (subnet, groups, public) in wanted.items():
        if key in have and have[key] in ec2.enis:
            ec2.enis[have[key]]._group_set = _existing_groups(ec2, groups)
        else:
            have[key] = make(subnet, groups, public).id
    return due


# Load balancer: one interface per subnet, "ELB app/<name>/<id>", owned by amazon-elb, public when internet-facing;
# DeleteLoadBalancer returns at once and the interfaces go minutes later (API_DeleteLoadBalancer; terraform's
# cleanupALBNetworkInterfaces exists because they linger).
def _lb_interfaces(backend, lb, gone=False):
    ec2 = backend.ec2_backend
    label = "ELB " + lb.arn.split(":loadbalancer/", 1)[-1]
    wanted = {} if gone else {s.id: (s.id, lb.security_groups, lb.scheme != "internal") for s in lb.subnets}
    sync_interfaces(lb, ec2, wanted, lambda s, g, p: service_interface(ec2, s, g, label, "amazon-elb", public=p),
                    AWS_SECONDS["load-balancer/interfaces"])


def _after(cls, name, then):
    original = getattr(cls, name)

    @functools.wraps(original)
    def wrapped(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        then(self, result, *args, **kwargs)
        return result

    setattr(cls, name, wrapped)
    return original


_after(ELBv2Backend, "create_load_balancer", lambda self, lb, *a, **kw: _lb_interfaces(self, lb))
for _name in ("set_subnets", "set_security_groups"):
    _after(ELBv2Backend, _name, lambda self, _r, arn, *a, **kw: _lb_interfaces(self, self.load_balancers[arn]))
_elb_delete = ELBv2Backend.delete_load_balancer


def _elb_delete_load_balancer(self, arn):
    lb = self.load_balancers.get(arn)
    _elb_delete(self, arn)
    if lb is not None:
        _lb_interfaces(self, lb, gone=True)


ELBv2Backend.delete_load_balancer = _elb_delete_load_balancer

# NAT gateway: DeleteNatGateway leaves it `deleting` (its interface and address still mapped) until `deleted`
# (EC2 API reference, DeleteNatGateway and NatGateway State).
_nat_init = NatGateway.__init__


def _nat_gateway_init(self, *args, **kwargs):
    _nat_init(self, *args, **kwargs)
    eni = self._eni
    eni.description, eni.requester_managed, eni.interface_type = f"Interface for NAT Gateway {self.id}", True, "nat_gateway"
    eni.requester_id, eni.status = "amazon-vpc", "in-use"


NatGateway.__init__ = _nat_gateway_init


def _delete_nat_gateway(self, nat_gateway_id):
    nat = self.nat_gateways.get(nat_gateway_id)
    if nat is None:
        raise ec2_errors.EC2ClientError("NatGatewayNotFound", f"The Nat Gateway {nat_gateway_id} was not found")
    if nat.state not in ("deleting", "deleted"):
        nat.state = "deleting"

        def deleted():
            nat.state = "deleted"
            release_interface(self, nat._eni.id)

        later(AWS_SECONDS["nat-gateway/deleting"], deleted)
    return nat


EC2Backend.delete_nat_gateway = _delete_nat_gateway


# EFS mount target: DeleteMountTarget "returns while the mount target state is still deleting"; the interface goes
# with it (EFS API reference, DeleteMountTarget). The file system stays in use until then.
def _mount_target_interface(self, mt, *args, **kwargs):
    eni = self.ec2_backend.enis.get(mt.network_interface_id)
    if eni is not None:
        eni.description = f"EFS mount target for {mt.file_system_id} ({mt.mount_target_id})"
        eni.requester_managed, eni.requester_id, eni.status = True, "amazon-elasticfilesystem", "in-use"


_after(EFSBackend, "create_mount_target", _mount_target_interface)
_efs_delete_mount_target = EFSBackend.delete_mount_target


def _delete_mount_target(self, mount_target_id):
    mt = self.mount_targets_by_id.get(mount_target_id)
    if mt is None or mt.life_cycle_state == "deleting":
        return _efs_delete_mount_target(self, mount_target_id) if mt is None else None
    mt.life_cycle_state = "deleting"
    later(AWS_SECONDS["mount-target/deleting"], lambda: _efs_delete_mount_target(self, mount_target_id))


EFSBackend.delete_mount_target = _delete_mount_target


# RDS instance: an interface in its subnet group (two for Multi-AZ: primary and standby) with its VPC security
# groups; DeleteDBInstance leaves it `deleting` for minutes, holding the subnet group (API_DeleteDBInstance,
# API_DeleteDBSubnetGroup InvalidDBSubnetGroupStateFault).
def _db_interfaces(db, gone=False):
    ec2 = ec2_backends[db.account_id][db.region]
    subnets = [s.id for s in getattr(getattr(db, "db_subnet_group", None), "_subnets", None) or []]
    count = 0 if gone or not subnets else (2 if db.multi_az and len(subnets) > 1 else 1)
    wanted = {i: (subnets[i], db.vpc_security_group_ids, bool(db.publicly_accessible)) for i in range(count)}
    sync_interfaces(db, ec2, wanted, lambda s, g, p: service_interface(ec2, s, g, "RDSNetworkInterface", "amazon-rds",
                                                                      public=p), 0)


_after(RDSBackend, "create_db_instance", lambda self, db, *a, **kw: _db_interfaces(db))
_after(RDSBackend, "modify_db_instance", lambda self, db, *a, **kw: _db_interfaces(db))
_rds_delete = RDSBackend.delete_db_instance


def _delete_db_instance(self, db_instance_identifier, final_db_snapshot_identifier=None, skip_final_snapshot=False,
                        **kwargs):
    db = self.databases.get(db_instance_identifier)
    if db is not None and db.status == "deleting":
        raise RDSClientError("InvalidDBInstanceState", f"Instance {db_instance_identifier} is already being deleted.")
    if db is not None and db.status == "creating" and final_db_snapshot_identifier and not skip_final_snapshot:
        raise RDSClientError("InvalidDBInstanceState",
                             f"Instance {db_instance_identifier} is currently creating - a final snapshot cannot be taken.")
    db = _rds_delete(self, db_instance_identifier, final_db_snapshot_identifier, skip_final_snapshot, **kwargs)
    self.databases[db_instance_identifier] = db  # moto forgot it at once; AWS shows it `deleting` for minutes

    def gone():
        if self.databases.get(db_instance_identifier) is db:
            del self.databases[db_instance_identifier]
        _db_interfaces(db, gone=True)

    later(AWS_SECONDS["db-instance/deleting"], gone)
    return db


RDSBackend.delete_db_instance = _delete_db_instance
_rds_delete_subnet_group = RDSBackend.delete_subnet_group


def _delete_subnet_group(self, subnet_name):
    for db in self.databases.values():
        if getattr(getattr(db, "db_subnet_group", None), "name", None) == subnet_name:
            raise RDSClientError("InvalidDBSubnetGroupStateFault",
                                 f"Cannot delete the subnet group '{subnet_name}' because at least one database "
                                 f"instance: {db.db_instance_identifier} is still using it.")
    return _rds_delete_subnet_group(self, subnet_name)


RDSBackend.delete_subnet_group = _delete_subnet_group


# ECS service: each desired Fargate task holds an interface in the service's subnets. A task that leaves (scale-in,
# a new task definition or network, DeleteService) drains for the target groups' deregistration delay, stops within
# its stopTimeout, then deprovisions its interface (Developer Guide, "Task lifecycle"); a deleted service is
# DRAINING until its tasks are stopping, then INACTIVE (API_DeleteService). Until its tasks are gone the cluster
# refuses DeleteCluster (ClusterContainsTasksException).
def _drain_seconds(svc):
    elb = elbv2_backends[svc._account_id][svc.region_name]
    delays = [int(tg.attributes.get("deregistration_delay.timeout_seconds", 300))
              for tg in (elb.target_groups.get(lb.get("targetGroupArn")) for lb in svc.load_balancers or [])
              if tg is not None]
    stop = AWS_SECONDS["ecs-task/stop-timeout"]
    try:
        td = svc._backend.describe_task_definition(svc.task_definition)
        stop = max([c.get("stopTimeout") or stop for c in td.container_definitions] or [stop])
    except Exception:  # a deregistered revision: the default stop timeout
        pass
    return max(delays or [0]) + stop


def _service_tasks(svc):
    ec2 = ec2_backends[svc._account_id][svc.region_name]
    conf = (svc.network_configuration or {}).get("awsvpcConfiguration") or {}
    subnets, groups = conf.get("subnets") or [], conf.get("securityGroups") or []
    public = conf.get("assignPublicIp") == "ENABLED"
    wanted = {}
    if svc.status == "ACTIVE" and subnets:
        generation = (svc.task_definition, tuple(subnets), tuple(groups), public)
        wanted = {(generation, i): (subnets[i % len(subnets)], groups, public) for i in range(svc.desired_count or 0)}
    drain = _drain_seconds(svc)
    label = f"arn:aws:ecs:{svc.region_name}:{svc._account_id}:attachment/"

    def task(subnet, groups, public):
        eni = service_interface(ec2, subnet, groups, label + str(uuid.uuid4()), "amazon-ecs", public=public)
        eni._ghost_cluster = svc.cluster_arn
        return eni

    before = set(svc.__dict__.get("_ghost_enis", {}))
    sync_interfaces(svc, ec2, wanted, task, drain + AWS_SECONDS["ecs-task/deprovisioning"])
    if wanted:
        _container_insights_log_group(svc)
    if before - set(wanted):
        svc._ghost_draining_until = max(svc.__dict__.get("_ghost_draining_until", 0),
                                        time.time() + drain * clock_factor())


def _container_insights_log_group(svc):
    """CloudWatch User Guide, "Container Insights performance log events for Amazon ECS": with Container Insights on,
    the cluster's tasks report to `/aws/ecs/containerinsights/<cluster>/performance`, a log group AWS creates ("You
    don't need to create this log group yourself"). Nothing deletes it with the cluster: it outlives it, and bills."""
    from moto.ecs.models import ecs_backends
    from moto.logs.models import logs_backends

    name = svc.cluster_arn.rsplit("/", 1)[-1]
    cluster = ecs_backends[svc._account_id][svc.region_name].clusters.get(name)
    settings = (cluster.settings if cluster is not None else None) or []
    if not any(st.get("name") == "containerInsights" and st.get("value") in ("enabled", "enhanced") for st in settings):
        return
    logs = logs_backends[svc._account_id][svc.region_name]
    group = f"/aws/ecs/containerinsights/{name}/performance"
    if group not in logs.groups:
        logs.create_log_group(group, {})


def _cluster_tasks(backend, cluster):
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    ours = sum(1 for e in ec2.enis.values() if getattr(e, "_ghost_cluster", None) == cluster.arn)
    moto_tasks = sum(1 for t in backend.tasks.get(cluster.name, {}).values() if t.last_status != "STOPPED")
    return ours + moto_tasks


_ecs_create_service = EC2ContainerServiceBackend.create_service


def _create_service(self, cluster_str, service_name, *args, **kwargs):
    cluster = self._get_cluster(cluster_str)
    existing = self.services.get(f"{cluster.name}:{service_name}")
    if existing is not None and existing.status == "DRAINING":
        raise ecs_errors.InvalidParameterException("Unable to Start a service that is still Draining.")
    if existing is not None and existing.status == "ACTIVE":
        raise ecs_errors.InvalidParameterException("Creation of service was not idempotent.")
    svc = _ecs_create_service(self, cluster_str, service_name, *args, **kwargs)
    _service_tasks(svc)
    return svc


EC2ContainerServiceBackend.create_service = _create_service
_after(EC2ContainerServiceBackend, "update_service", lambda self, svc, *a, **kw: _service_tasks(svc))
_ecs_delete_service = EC2ContainerServiceBackend.delete_service


def _delete_service(self, cluster_name, service_name, force):
    svc = self._get_service(cluster_name, service_name)
    if svc.status != "ACTIVE":
        return svc  # an INACTIVE (or DRAINING) service: AWS answers with it as it is
    svc = _ecs_delete_service(self, cluster_name, service_name, force)  # moto: INACTIVE at once
    _service_tasks(svc)
    until = svc.__dict__.get("_ghost_draining_until", 0)
    if until > time.time():
        svc.status = "DRAINING"
        later_at(until, lambda: setattr(svc, "status", "INACTIVE"))
    return svc


EC2ContainerServiceBackend.delete_service = _delete_service
_ecs_delete_cluster = EC2ContainerServiceBackend.delete_cluster


def _delete_cluster(self, cluster_str):
    """ECS API reference, DeleteCluster: ClusterContainsServicesException, ClusterContainsTasksException."""
    cluster = self._get_cluster(cluster_str)
    if any(s.cluster_arn == cluster.arn and s.status in ("ACTIVE", "DRAINING") for s in self.services.values()):
        raise ecs_errors.ECSException("ClusterContainsServicesException",
                                      "The Cluster cannot be deleted while Services are active.")
    if _cluster_tasks(self, cluster):
        raise ecs_errors.ECSException("ClusterContainsTasksException",
                                      "The Cluster cannot be deleted while Tasks are active.")
    return _ecs_delete_cluster(self, cluster_str)


EC2ContainerServiceBackend.delete_cluster = _delete_cluster


# EC2 deletion dependencies (EC2 API reference: DeleteSecurityGroup, DeleteSubnet, DetachInternetGateway, DeleteVpc,
# ReleaseAddress; the messages are AWS's, docs/aws/deletion-dependencies.md cites the transcripts).
def _interfaces(ec2, test):
    return [e for e in list(ec2.enis.values()) if test(e)]


_ec2_delete_security_group = EC2Backend.delete_security_group


def _delete_security_group(self, name=None, group_id=None):
    group = self.get_security_group_from_id(group_id) if group_id else self.get_security_group_by_name_or_id(name)
    if group is not None:
        used = _interfaces(self, lambda e: group in e._group_set)
        referenced = [g for groups in self.groups.values() for g in groups.values() if g is not group and any(
            (r.source_group or {}).get("GroupId") == group.id for r in g.ingress_rules + g.egress_rules)]
        if used or referenced:
            raise ec2_errors.DependencyViolationError(f"resource {group.id} has a dependent object")
    return _ec2_delete_security_group(self, name=name, group_id=group_id)


EC2Backend.delete_security_group = _delete_security_group
_ec2_delete_subnet = EC2Backend.delete_subnet


def _delete_subnet(self, subnet_id):
    if _interfaces(self, lambda e: e.subnet.id == subnet_id):
        raise ec2_errors.DependencyViolationError(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
    return _ec2_delete_subnet(self, subnet_id)


EC2Backend.delete_subnet = _delete_subnet
_ec2_detach_igw = EC2Backend.detach_internet_gateway


def _mapped(ec2, eni):
    return bool(eni.public_ip) or any(a.eni is eni for a in ec2.addresses)


def _detach_internet_gateway(self, internet_gateway_id, vpc_id):
    if _interfaces(self, lambda e: e.subnet.vpc_id == vpc_id and _mapped(self, e)):
        raise ec2_errors.DependencyViolationError(
            f"Network {vpc_id} has some mapped public address(es). Please unmap those public address(es) before "
            "detaching the gateway.")
    return _ec2_detach_igw(self, internet_gateway_id, vpc_id)


EC2Backend.detach_internet_gateway = _detach_internet_gateway
_ec2_delete_vpc = EC2Backend.delete_vpc


def _delete_vpc(self, vpc_id):
    attached = [g for g in self.internet_gateways.values() if g.vpc is not None and g.vpc.id == vpc_id]
    groups = [g for g in self.groups.get(vpc_id, {}).values() if g.name != "default"]
    if attached or groups or _interfaces(self, lambda e: e.subnet.vpc_id == vpc_id):
        raise ec2_errors.DependencyViolationError(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
    return _ec2_delete_vpc(self, vpc_id)


EC2Backend.delete_vpc = _delete_vpc
_ec2_release_address = EC2Backend.release_address


def _release_address(self, address=None, allocation_id=None):
    eips = self.address_by_ip([address]) if address else self.address_by_allocation([allocation_id])
    if eips and (eips[0].eni is not None or eips[0].instance is not None):
        # "[Nondefault VPC] You must disassociate the Elastic IP address before you can release it. Otherwise, Amazon
        # EC2 returns an error (InvalidIPAddress.InUse)." The message text is not published.
        raise ec2_errors.EC2ClientError("InvalidIPAddress.InUse", f"Address {address or allocation_id} is in use.")
    return _ec2_release_address(self, address=address, allocation_id=allocation_id)


EC2Backend.release_address = _release_address


# --- Input validation from AWS's service models --------------------------------------------------------------------
# moto accepts most input AWS refuses. AWS validates every request against its service model before acting on it:
# required members, string lengths, patterns and enums, numeric ranges, list and map sizes. botocore's data is that
# model in machine form (the same constraints the API reference prints under each parameter), so every request of
# the JSON, query and CBOR protocols is checked against it here and refused with the service's validation code and
# AWS's message shape ("1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: Member must
# have length less than or equal to 32"). REST-JSON (EFS) is checked member by member where the model locates it;
# REST-XML (S3) is not checked yet.
VALIDATION = {"on": True}

# The code a constraint violation answers with (AWS API references, "Common Errors": ValidationException for the
# JSON services; the query services keep their historical codes).
VALIDATION_CODES = {"ec2": "InvalidParameterValue", "rds": "InvalidParameterValue", "sns": "InvalidParameter",
                    "elasticfilesystem": "BadRequest",  # EFS API reference: BadRequest, "an invalid parameter value"
                    "elasticloadbalancing": "ValidationError", "iam": "ValidationError", "sts": "ValidationError",
                    "monitoring": "ValidationError",
                    # S3 Error responses: MalformedXML, "The XML you provided was not well-formed or did not validate
                    # against our published schema" (a body member outside its enum or bounds).
                    "s3": "MalformedXML"}
# Otherwise the first of these the service's model declares (CodeBuild and CodeConnections: InvalidInputException,
# ECS: InvalidParameterException).
VALIDATION_SHAPES = ("ValidationException", "InvalidInputException", "InvalidParameterException",
                     "InvalidParameterValueException")


def validation_code(model, signing_name):
    if signing_name in VALIDATION_CODES:
        return VALIDATION_CODES[signing_name]
    return next((n for n in VALIDATION_SHAPES if n in model.shape_names), "ValidationException")


# SigV4 signing names that are not botocore's service names, or that several models share (RDS with DocumentDB
# and Neptune, ELB with ELBv2).
SIGNING_TO_SERVICE = {"elasticloadbalancing": "elbv2", "monitoring": "cloudwatch", "elasticfilesystem": "efs",
                      "rds": "rds", "events": "events"}


@functools.lru_cache(maxsize=None)
def model_for_signing_name(signing_name):
    """botocore's model of the service a SigV4 scope names (`elasticloadbalancing` -> elbv2), or None."""
    session = botocore.session.get_session()
    name = SIGNING_TO_SERVICE.get(signing_name, signing_name)
    if name in session.get_available_services():
        return session.get_service_model(name)
    return None


def _query_key(member_name, shape, ec2):
    if ec2:
        return shape.serialization.get("queryName") or _capital(shape.serialization.get("name") or member_name)
    return shape.serialization.get("name") or member_name


def _capital(name):
    return name[:1].upper() + name[1:]


def unflatten(shape, prefix, flat, ec2):
    """The value a query request's flat `Key.member.1.Sub=...` parameters give `shape` at `prefix` (None: absent),
    following botocore's query and EC2 serializers in reverse."""
    if shape.type_name == "structure":
        out = {}
        for name, member in shape.members.items():
            key = _query_key(name, member, ec2)
            value = unflatten(member, f"{prefix}.{key}" if prefix else key, flat, ec2)
            if value is not None:
                out[name] = value
        return out if (out or prefix == "" or prefix in flat) else None
    if shape.type_name == "list":
        if ec2:
            base = prefix
        elif shape.serialization.get("flattened"):  # the member's own name replaces the list's last segment
            name = shape.member.serialization.get("name")
            base = ".".join(prefix.split(".")[:-1] + [name]) if name else prefix
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items, n = [], 1
        while any(k == f"{base}.{n}" or k.startswith(f"{base}.{n}.") for k in flat):
            items.append(unflatten(shape.member, f"{base}.{n}", flat, ec2))
            n += 1
        if not items and prefix in flat:  # `Key=` with no members: an empty list
            return []
        return items or None
    if shape.type_name == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        if ec2:
            key_name, value_name = _capital(key_name), _capital(value_name)
        out, n = {}, 1
        while f"{base}.{n}.{key_name}" in flat:
            out[flat[f"{base}.{n}.{key_name}"]] = unflatten(shape.value, f"{base}.{n}.{value_name}", flat, ec2)
            n += 1
        return out or None
    return flat.get(prefix)


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# Model patterns nothing can match (a `^` in mid-pattern): AWS does not apply them as written, so neither do we.
BROKEN_PATTERNS = {"PlacementGroupArn"}
# Names of service-managed resources, which the pattern for the ones a user creates does not cover: AWS takes them.
# BackupVaultName's pattern is CreateBackupVault's; EFS's own vault is aws/efs/automatic-backup-vault (EFS User
# Guide, "Backing up EFS file systems"), named in DeleteRecoveryPoint and the vault's other calls.
MANAGED_NAMES = {"BackupVaultName": re.compile(r"aws/[a-z0-9-]+(/[a-z0-9-]+)*")}


@functools.lru_cache(maxsize=4096)
def _pattern(pattern):
    # The models' patterns are Java regexes over UTF-16: a surrogate-pair range there is every astral character.
    pattern = pattern.replace("\\uD800\\uDC00-\\uDBFF\\uDFFF", "\\U00010000-\\U0010FFFF")
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct (\p{...}): not checked rather than checked wrongly
        return None


def _length(meta, value, path, out, noun):
    if "min" in meta and len(value) < meta["min"]:
        out.append((path, value, f"{noun} must have length greater than or equal to {meta['min']}"))
    if "max" in meta and len(value) > meta["max"]:
        out.append((path, value, f"{noun} must have length less than or equal to {meta['max']}"))


def violations(shape, value, path, out):
    """Appends (path, value, constraint) for each of AWS's model constraints `value` breaks."""
    meta, kind = shape.metadata, shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name in shape.required_members:
            if value.get(name) is None:
                out.append((f"{path}.{name}" if path else name, None, "Member must not be null"))
        for name, member in shape.members.items():
            if value.get(name) is not None:
                violations(member, value[name], f"{path}.{name}" if path else name, out)
    elif kind == "list" and isinstance(value, list):
        _length(meta, value, path, out, "Member")
        for i, item in enumerate(value, 1):
            if item is not None:
                violations(shape.member, item, f"{path}.{i}.member", out)
    elif kind == "map" and isinstance(value, dict):
        _length(meta, value, path, out, "Map")
        for k, v in value.items():
            violations(shape.key, k, f"{path}.key", out)
            if v is not None:
                violations(shape.value, v, f"{path}.{k}", out)
    elif kind == "string" and isinstance(value, str):
        _length(meta, value, path, out, "Member")
        if shape.enum and value not in shape.enum:
            out.append((path, value, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"))
        managed = MANAGED_NAMES.get(shape.name)
        pattern = meta.get("pattern") if shape.name not in BROKEN_PATTERNS else None
        pattern = None if managed is not None and managed.fullmatch(value) else pattern
        if pattern and _pattern(pattern) is not None and not _pattern(pattern).fullmatch(value):
            out.append((path, value, f"Member must satisfy regular expression pattern: {pattern}"))
    elif kind in ("integer", "long", "double", "float"):
        number = _number(value)
        if number is not None and "min" in meta and number < meta["min"]:
            out.append((path, value, f"Member must have value greater than or equal to {meta['min']}"))
        if number is not None and "max" in meta and number > meta["max"]:
            out.append((path, value, f"Member must have value less than or equal to {meta['max']}"))


@functools.lru_cache(maxsize=None)
def _rest_routes(service_name):
    """(method, path regex, query keys it needs, operation) for each operation of a REST service's model."""
    model = botocore.session.get_session().get_service_model(service_name)
    routes = []
    for op_name in model.operation_names:
        http_ = model.operation_model(op_name).http
        uri, _, query = http_.get("requestUri", "/").partition("?")
        regex = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(uri))
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", regex)
        keys = {q.split("=", 1)[0] for q in query.split("&") if q} - {"x-id"}  # x-id names the operation only
        shape = model.operation_model(op_name).input_shape
        if shape is not None:  # a required query-string member tells operations on the same path apart
            keys |= {m.serialization.get("name", n) for n, m in shape.members.items()
                     if m.serialization.get("location") == "querystring" and n in shape.required_members}
        keys = frozenset(keys)
        routes.append((http_.get("method", "POST"), re.compile(f"^{regex}/?$"), keys, op_name))
    # The most specific first: more required query keys, then the longer template.
    routes.sort(key=lambda r: (-len(r[2]), -len(r[1].pattern)))
    return routes


def rest_operation(service_name, method, path, query_keys=frozenset()):
    """The operation a REST request is (`DELETE /2015-02-01/access-points/fsap-1` -> DeleteAccessPoint), or None."""
    for m, regex, keys, op_name in _rest_routes(service_name):
        if m == method and keys <= query_keys and regex.match(path):
            return op_name
    return None


def _constraints(shape):
    meta, found = shape.metadata, []
    if "min" in meta or "max" in meta:
        unit = "items" if shape.type_name in ("list", "map") else "characters" if shape.type_name == "string" else ""
        lo, hi = meta.get("min"), meta.get("max")
        span = f"{lo if lo is not None else ''}..{hi if hi is not None else ''}"
        found.append(f"{'length' if unit else 'value'} {span} {unit}".strip())
    if shape.type_name == "string" and shape.enum:
        shown = ", ".join(shape.enum[:6]) + (f", … ({len(shape.enum)})" if len(shape.enum) > 6 else "")
        found.append(f"one of {shown}")
    if shape.type_name == "string" and meta.get("pattern"):
        checked = _pattern(meta["pattern"]) is not None
        found.append(f"pattern `{meta['pattern']}`" + ("" if checked else " (Java-only syntax: not checked)")
                     + (" (a service-managed name, aws/…, exempt)" if shape.name in MANAGED_NAMES else ""))
    return found


def _rule_rows(shape, path, rows, depth=0):
    if depth > 6:  # recursive shapes (IAM policy documents are strings; some models nest structures in themselves)
        return
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            sub = f"{path}.{name}" if path else name
            found = _constraints(member) + (["required"] if name in shape.required_members else [])
            if found:
                rows.append((sub, "; ".join(found)))
            _rule_rows(member, sub, rows, depth + 1)
    elif shape.type_name == "list":
        found = _constraints(shape.member)
        if found:
            rows.append((f"{path}[]", "; ".join(found)))
        _rule_rows(shape.member, f"{path}[]", rows, depth + 1)
    elif shape.type_name == "map":
        _rule_rows(shape.value, f"{path}{{}}", rows, depth + 1)


def rule_table(operations):
    """The Markdown table of every constraint the emulator checks for `operations` [(signing name, action)]."""
    lines = ["# Input rules checked by the emulator", "",
             "Generated by `python localstack/launcher.py --rule-table` from `operations.txt` (every operation the",
             "lenses call) and AWS's service models as botocore ships them (the constraints each API reference",
             "prints under its parameters), plus the hand rules for what the references state only in prose (marked",
             "[hand rule], each citing its page). Do not edit by hand.", "",
             f"botocore {botocore.__version__}", "",
             "| service | operation | parameter | constraint |", "| --- | --- | --- | --- |"]
    for signing_name, action in operations:
        model = model_for_signing_name(signing_name)
        if model is None or action not in model.operation_names:
            lines.append(f"| {signing_name} | {action} | — | no model: not checked |")
            continue
        shape = model.operation_model(action).input_shape
        rows = []
        if shape is not None:
            _rule_rows(shape, "", rows)
        hand = HAND_RULES.get((signing_name, action))
        if hand is not None:  # the rule's docstring names its source
            rows.append(("(across fields)", " ".join(hand.__doc__.split()) + " [hand rule]"))
        for parameter, constraint in rows or [("—", "no constraints in the model")]:
            escaped = constraint.replace("|", "\\|")
            lines.append(f"| {model.service_name} | {action} | `{parameter}` | {escaped} |")
    return "\n".join(lines) + "\n"


def read_operations(path):
    with open(path) as f:
        return [tuple(line.split(" ", 1)) for line in f.read().splitlines() if line and not line.startswith("#")]


# --- Rules the models lack, from the API references' prose (docs/aws/ holds the research) -------------------------
# Each answers (code, message) for a request AWS refuses, or None. Messages are AWS's where a source shows them.
FARGATE_MEMORY = {  # ECS Developer Guide, "Task CPU and memory" / task-cpu-memory-error: cpu units -> memory MiB
    256: {512, 1024, 2048},
    512: set(range(1024, 4097, 1024)),
    1024: set(range(2048, 8193, 1024)),
    2048: set(range(4096, 16385, 1024)),
    4096: set(range(8192, 30721, 1024)),
    8192: set(range(16384, 61441, 4096)),
    16384: set(range(32768, 122881, 8192)),
}


def _units(value):
    """ECS's task-level cpu/memory strings: "1024", "1 vCPU", "2 GB" -> CPU units or MiB (None: not a number)."""
    text = str(value).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(vcpu|gb)?", text, re.IGNORECASE)
    if m is None:
        return None
    number = float(m.group(1))
    if m.group(2):
        number *= 1024
    return int(number)


def _ecs_register_task_definition(params):
    """ECS Developer Guide "Amazon ECS task definition differences for Fargate" and task-cpu-memory-error."""
    if "FARGATE" not in (params.get("requiresCompatibilities") or []):
        return None
    cpu, memory = params.get("cpu"), params.get("memory")
    if cpu is None:
        return "ClientException", "Fargate requires that 'cpu' be defined at the task level."
    if memory is None:
        return "ClientException", "Fargate requires that 'memory' be defined at the task level."
    if params.get("networkMode") != "awsvpc":
        return "ClientException", "Fargate only supports network mode \u2018awsvpc\u2019."
    cpu_units, memory_mib = _units(cpu), _units(memory)
    if cpu_units not in FARGATE_MEMORY:
        return ("ClientException", "Invalid 'cpu' setting for task. For more information, see the Troubleshooting "
                                   "section of the Amazon ECS Developer Guide.")
    if memory_mib not in FARGATE_MEMORY[cpu_units]:
        return ("ClientException", f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
                                   "See the Amazon ECS documentation for the valid values.")
    containers = params.get("containerDefinitions") or []
    if not params.get("executionRoleArn"):
        if any((c.get("logConfiguration") or {}).get("logDriver") == "awslogs" for c in containers):
            return ("ClientException",
                    "Fargate requires task definition to have execution role ARN to support log driver awslogs.")
        if any(c.get("secrets") for c in containers):
            return ("ClientException", "When you are specifying container secrets, you must also specify a value "
                                       "for 'executionRoleArn'")
    for c in containers:
        for pm in c.get("portMappings") or []:
            if pm.get("hostPort") not in (None, pm.get("containerPort")):
                return ("ClientException", "When networkMode=awsvpc, the host ports and container ports in port "
                                           "mappings must match.")
    return None


def _elbv2_target_group_health_check(params):
    """ELBv2 API reference, CreateTargetGroup: HealthCheckTimeoutSeconds "must be smaller than the interval";
    defaults 30 s interval and 5 s timeout for HTTP(S) target groups of type instance or ip."""
    interval = _number(params.get("HealthCheckIntervalSeconds")) or 30
    timeout = _number(params.get("HealthCheckTimeoutSeconds")) or 5
    if timeout >= interval:
        return "ValidationError", "Health check interval must be greater than the timeout."
    return None


def _cloudwatch_put_metric_alarm(params):
    """CloudWatch API reference, PutMetricAlarm Period: 10, 20, 30 or a multiple of 60; Period x EvaluationPeriods
    at most 604,800 s, and at most 86,400 s for a period under an hour; DatapointsToAlarm at most EvaluationPeriods.
    (The message wording is ours: no source shows AWS's.)"""
    period, periods = _number(params.get("Period")), _number(params.get("EvaluationPeriods"))
    if period is not None and not (period in (10, 20, 30) or period % 60 == 0):
        return "ValidationError", f"The parameter Period must be 10, 20, 30 or a multiple of 60 (was {period:g})."
    if period is not None and periods is not None:
        limit = 86400 if period < 3600 else 604800
        if period * periods > limit:
            return ("ValidationError", f"Metrics cannot be checked across more than {limit // 86400} day(s) "
                                       f"(EvaluationPeriods * Period must be <= {limit}).")
    datapoints = _number(params.get("DatapointsToAlarm"))
    if datapoints is not None and periods is not None and datapoints > periods:
        return "ValidationError", "DatapointsToAlarm must be less than or equal to EvaluationPeriods."
    return None


ECS_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def _ecs_names(*members):
    """ECS API reference (CreateCluster clusterName, CreateService serviceName, RegisterTaskDefinition family and
    containerDefinitions.name): "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are
    allowed." (The message wording is ours.)"""
    def rule(params):
        for member in members:
            names = [c.get("name") for c in params.get("containerDefinitions") or []] if member == "container" \
                else [params.get(member)]
            for name in names:
                if name is not None and not ECS_NAME.fullmatch(str(name)):
                    return ("InvalidParameterException", f"{member} '{name}' is not valid: up to 255 letters, "
                                                         "numbers, underscores and hyphens are allowed.")
        return None
    rule.__doc__ = _ecs_names.__doc__
    return rule


def _all(*rules):
    def rule(params):
        return next((found for found in (r(params) for r in rules) if found is not None), None)
    rule.__doc__ = " ".join(r.__doc__ for r in rules)
    return rule


S3_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
S3_RESERVED = (("xn--", "sthree-", "amzn-s3-demo-"), ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))


def _s3_bucket_name(params):
    """S3 User Guide, "General purpose bucket naming rules": 3 to 63 characters; lowercase letters, numbers, dots and
    hyphens; begin and end with a letter or number; no two adjacent periods; not an IP address; not beginning with
    xn--, sthree- or amzn-s3-demo-, not ending with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3. S3 answers
    InvalidBucketName, "The specified bucket is not valid." (S3 API reference, Error responses)."""
    name = params.get("Bucket")
    if name is None:
        return None
    name = str(name)
    ok = (S3_BUCKET_NAME.fullmatch(name) and ".." not in name
          and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name)
          and not name.startswith(S3_RESERVED[0]) and not name.endswith(S3_RESERVED[1]))
    return None if ok else ("InvalidBucketName", f"The specified bucket is not valid: {name}")


def _s3_bucket_tags(params):
    """S3 User Guide, "Using cost allocation S3 bucket tags" / "Categorizing your storage using tags": up to 50 tags
    per bucket, keys of 1 to 128 Unicode characters and values of up to 256, unique keys, none beginning with aws:
    (reserved). S3 answers InvalidTag (S3 API reference, PutBucketTagging)."""
    tags = ((params.get("Tagging") or {}).get("TagSet")) or []
    if len(tags) > 50:
        return "InvalidTag", "Bucket tag count cannot be greater than 50"
    keys = [str(t.get("Key", "")) for t in tags]
    for tag, key in zip(tags, keys):
        value = str(tag.get("Value", ""))
        if not 1 <= len(key) <= 128 or len(value) > 256:
            return "InvalidTag", f"The TagKey or TagValue you have provided is too long: {key}"
        if key.lower().startswith("aws:"):
            return "InvalidTag", f"Your TagKey cannot be prefixed with aws: {key}"
    if len(set(keys)) != len(keys):
        return "InvalidTag", "Cannot provide multiple Tags with the same key"
    return None


HAND_RULES = {
    ("s3", "CreateBucket"): _s3_bucket_name,
    ("s3", "PutBucketTagging"): _s3_bucket_tags,
    ("ecs", "RegisterTaskDefinition"): _all(_ecs_names("family", "container"), _ecs_register_task_definition),
    ("ecs", "CreateCluster"): _ecs_names("clusterName"),
    ("ecs", "CreateService"): _ecs_names("serviceName"),
    ("elasticloadbalancing", "CreateTargetGroup"): _elbv2_target_group_health_check,
    ("monitoring", "PutMetricAlarm"): _cloudwatch_put_metric_alarm,
}


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def xml_to_shape(shape, element):
    """A REST-XML payload element as the input its shape describes: structures by member (their wire names),
    lists flattened or wrapped, scalars as text."""
    if shape.type_name == "structure":
        out = {}
        children = list(element)
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if member.type_name == "list" and member.serialization.get("flattened"):
                items = [c for c in children if _local(c.tag) == wire]
                if items:
                    out[name] = [xml_to_shape(member.member, c) for c in items]
                continue
            found = next((c for c in children if _local(c.tag) == wire), None)
            if found is not None:
                out[name] = xml_to_shape(member, found)
        return out
    if shape.type_name == "list":
        wire = shape.member.serialization.get("name", "member")
        return [xml_to_shape(shape.member, c) for c in element if _local(c.tag) == wire]
    return element.text or ""


def validation_problem(model, action, params):
    """AWS's validation message for `params` of `model`'s `action`, or None when the model finds nothing."""
    if action not in model.operation_names:
        return None
    shape = model.operation_model(action).input_shape
    if shape is None:
        return None
    found = []
    violations(shape, params, "", found)
    if not found:
        return None
    shown = lambda v: "null" if v is None else f"'{v}'" if isinstance(v, str) else json.dumps(v)
    parts = [f"Value {shown(v)} at '{p}' failed to satisfy constraint: {c}" for p, v, c in found[:10]]
    return f"{len(found)} validation error{'s' if len(found) > 1 else ''} detected: {'; '.join(parts)}"


# --- CodeBuild -----------------------------------------------------------------------------------------------------
_codebuild_source, _codebuild_artifacts = (codebuild_responses._validate_required_params_source,
                                           codebuild_responses._validate_required_params_artifacts)


def _codebuild_validate_source(source):
    # AWS ignores `location` for a CODEPIPELINE source and needs none for NO_SOURCE; moto demanded one always.
    if source.get("type") not in ("CODEPIPELINE", "NO_SOURCE"):
        _codebuild_source(source)


def _codebuild_validate_artifacts(artifacts):
    # Same for CODEPIPELINE artifacts: the pipeline decides where they go.
    if artifacts.get("type") != "CODEPIPELINE":
        _codebuild_artifacts(artifacts)


codebuild_responses._validate_required_params_source = _codebuild_validate_source
codebuild_responses._validate_required_params_artifacts = _codebuild_validate_artifacts
_codebuild_init = CodeBuild.__init__


@patch(CodeBuild, "__init__")
def _codebuild_project_init(self, *args, **kwargs):
    _codebuild_init(self, *args, **kwargs)
    meta = self.project_metadata
    # The API member is `lastModified`; moto's `lastModifiedDate` is dropped by its serializer.
    meta["lastModified"] = meta.pop("lastModifiedDate")
    # AWS's defaults (API reference, CreateProject): 60 and 480 minutes; moto stored 0.
    meta["timeoutInMinutes"] = meta["timeoutInMinutes"] or 60
    meta["queuedTimeoutInMinutes"] = meta["queuedTimeoutInMinutes"] or 480


@patch(CodeBuildBackend, "update_project")
def _codebuild_backend_update_project(self, name, fields):
    project = self.codebuild_projects.get(name)
    if project is None:
        raise codebuild_errors.ResourceNotFoundException(f"Project cannot be found: arn:aws:codebuild:{self.region_name}:"
                                                         f"{self.account_id}:project/{name}")
    meta = project.project_metadata
    for key, value in fields.items():
        if key == "badgeEnabled":
            meta["badge"] = {"badgeEnabled": bool(value)}
        elif key == "serviceRole":
            project.service_role = meta["serviceRole"] = value  # start_build reads the attribute
        elif key == "tags":
            project.tags = meta["tags"] = value
        else:
            meta[key] = value
    meta["lastModified"] = unix_time()
    return meta


@patch(codebuild_responses.CodeBuildResponse, "update_project")
def _codebuild_update_project(self):
    members = service_model("codebuild").operation_model("UpdateProject").input_shape.members
    fields = {k: v for k in members if k != "name" and (v := self._get_param(k)) is not None}
    for key, check in (("source", _codebuild_validate_source), ("artifacts", _codebuild_validate_artifacts),
                       ("environment", codebuild_responses._validate_required_params_environment)):
        if key in fields:
            check(fields[key])
    if "serviceRole" in fields:
        codebuild_responses._validate_required_params_service_role(self.current_account, self.region,
                                                                   fields["serviceRole"])
    return ActionResult({"project": self.codebuild_backend.update_project(self._get_param("name"), fields)})


# --- CodeDeploy ----------------------------------------------------------------------------------------------------
_codedeploy_group_info = codedeploy_responses._deployment_group_info


def _codedeploy_deployment_group_info(group):
    info = _codedeploy_group_info(group)
    # moto stores alarmConfiguration but answered {} ("TODO"); AWS returns what was set (disabled, no alarms if none).
    info["alarmConfiguration"] = group.alarm_configuration or {"enabled": False, "ignorePollAlarmFailure": False,
                                                               "alarms": []}
    # The request names Auto Scaling groups; the answer describes each as {"name", "hook"}: moto's names became {}.
    info["autoScalingGroups"] = [{"name": g} if isinstance(g, str) else g for g in group.auto_scaling_groups]
    return info


codedeploy_responses._deployment_group_info = _codedeploy_deployment_group_info
_codedeploy_list_groups = CodeDeployBackend.list_deployment_groups


@patch(CodeDeployBackend, "list_deployment_groups")
def _codedeploy_backend_list_groups(self, application_name, next_token):
    self.get_application(application_name)  # AWS: ApplicationDoesNotExistException; moto listed nothing
    return _codedeploy_list_groups(self, application_name, next_token)


@patch(CodeDeployBackend, "update_deployment_group")
def _codedeploy_backend_update_group(self, application_name, current, new_name, fields):
    group = self.get_deployment_group(application_name, current)
    groups = self.deployment_groups[application_name]
    if new_name and new_name != current:
        if new_name in groups:
            raise codedeploy_errors.DeploymentGroupAlreadyExistsException(
                f"Deployment group {new_name} already exists.")
        groups[new_name] = groups.pop(current)
        group.deployment_group_name = new_name
        old_arn, new_arn = (self._deployment_group_arn(application_name, n) for n in (current, new_name))
        self.tagger.copy_tags(old_arn, new_arn)  # the tags follow the group to its new ARN
        self.tagger.delete_all_tags_for_resource(old_arn)
    for key, value in fields.items():
        setattr(group, camelcase_to_underscores(key), value)
    return group


_codedeploy_create_deployment = CodeDeployBackend.create_deployment
# `POST /_ghost/codedeploy/hold?on=1` keeps new deployments `InProgress` (a release in flight, to stop or roll back);
# `&application=NAME` holds that application's alone, so tests sharing the emulator do not hold each other's.
CODEDEPLOY_HOLD = {"on": False, "applications": set()}


def _codedeploy_held(application_name):
    return CODEDEPLOY_HOLD["on"] or application_name in CODEDEPLOY_HOLD["applications"]


# CodeDeploy User Guide, "What happens during an Amazon ECS deployment": the replacement task set starts and its
# tasks register healthy with the replacement target group (Install), test traffic moves to it (AllowTestTraffic),
# then production traffic (AllowTraffic; all at once for CodeDeployDefault.ECSAllAtOnce), and the original task set
# is terminated after the group's terminationWaitTimeInMinutes; the deployment is InProgress until then
# (DeploymentInfo instanceTerminationWaitTimeStarted: "true as soon as the termination wait period starts").
# Install's time is a Fargate task's start and the replacement target group's health checks.
AWS_SECONDS["codedeploy/install"] = 120


def _termination_wait_seconds(group):
    config = (group.blue_green_deployment_configuration or {}).get("terminateBlueInstancesOnDeploymentSuccess") or {}
    return 60 * int(config.get("terminationWaitTimeInMinutes") or 0)


@patch(CodeDeployBackend, "create_deployment")
def _codedeploy_backend_create_deployment(self, *args, **kwargs):
    """A deployment goes through AWS's phases on the clock: InProgress while the replacement task set comes up,
    traffic shifted to it after `codedeploy/install`, Succeeded once the termination wait has passed. A held one
    stays InProgress until stopped."""
    deployment_id = _codedeploy_create_deployment(self, *args, **kwargs)
    deployment = self.deployments.get(deployment_id)
    if deployment is None:
        return deployment_id
    deployment.status = "InProgress"
    deployment.start_time = deployment.create_time
    if _codedeploy_held(deployment.application_name):
        return deployment_id
    install = AWS_SECONDS["codedeploy/install"]

    def shifted():
        if deployment.status == "InProgress":
            deployment.ghost_undo = _codedeploy_shift_traffic(self, deployment)
            deployment.instance_termination_wait_time_started = True

    def finished():
        if deployment.status == "InProgress":
            deployment.status, deployment.complete_time = "Succeeded", utcnow()

    later(install, shifted)
    later(install + _termination_wait_seconds(deployment.deployment_group), finished)
    return deployment_id


def _forwards_to(action):
    """The target group a forward action sends (the heaviest of a weighted forward), as ELBv2 reports it."""
    data = action.data if action is not None else {}
    if data.get("TargetGroupArn"):
        return data["TargetGroupArn"]
    groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
    return max(groups, key=lambda g: int(g.get("Weight", 1)))["TargetGroupArn"] if groups else None


def _codedeploy_shift_traffic(backend, deployment):
    """What a successful ECS blue/green deployment leaves behind on AWS: the service runs the AppSpec's task
    definition, and the production and test listeners forward to the replacement target group, the original kept
    behind them at weight 0 -- since 2022 CodeDeploy leaves "(TG2: 100, TG1: 0)" where it used to leave "(TG2: 1)"
    (the CodeDeploy team, quoted in traveloka/terraform-aws-alb-single-listener#47). Returns what undoes it (a
    rollback during the termination wait reroutes traffic to the original task set)."""
    group = deployment.deployment_group
    content = ((deployment.revision or {}).get("appSpecContent") or {}).get("content") or ""
    found = re.search(r'TaskDefinition:\s*"?([^"\s]+)"?', content)
    if not found or not group.ecs_services:
        return lambda: None
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends

    undo = []
    ref = group.ecs_services[0]
    ecs = ecs_backends[backend.account_id][backend.region_name]
    service = ecs.services.get(f"{ref.get('clusterName')}:{ref.get('serviceName')}")
    if service is not None:
        revision = service.task_definition
        service.task_definition = found.group(1)
        undo.append(lambda: setattr(service, "task_definition", revision))
    elb = elbv2_backends[backend.account_id][backend.region_name]
    pair = (group.load_balancer_info.get("targetGroupPairInfoList") or [{}])[0]
    names = [tg.get("name") for tg in pair.get("targetGroups", [])]
    if len(names) == 2:
        arns = [next(iter(elb.describe_target_groups(None, [], [n]))).arn for n in names]
        prod = (pair.get("prodTrafficRoute") or {}).get("listenerArns", [])
        test = (pair.get("testTrafficRoute") or {}).get("listenerArns", [])
        live = None
        for arn in prod:
            listener = elb.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]
            live = _forwards_to(listener.default_actions[0] if listener.default_actions else None)
        if live in arns:
            replacement = arns[1 - arns.index(live)]
            weighted = {"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": replacement, "Weight": 100}, {"TargetGroupArn": live, "Weight": 0}]}}
            for arn in prod + test:
                listener = elb.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]
                before = [dict(a.data) for a in listener.default_actions]
                elb.modify_listener(arn, certificates=[], actions=[json.loads(json.dumps(weighted))])
                undo.append(lambda arn=arn, before=before: elb.modify_listener(arn, certificates=[], actions=before))
    return lambda: [u() for u in reversed(undo)]


@patch(CodeDeployBackend, "delete_deployment_group")
def _codedeploy_backend_delete_group(self, application_name, name):
    # Idempotent as on AWS: DeleteDeploymentGroup lists no "does not exist" error.
    if (self.deployment_groups.get(application_name) or {}).pop(name, None) is not None:
        self.tagger.delete_all_tags_for_resource(self._deployment_group_arn(application_name, name))


@patch(CodeDeployBackend, "delete_application")
def _codedeploy_backend_delete_application(self, application_name):
    # Deleting an application deletes its deployment groups; idempotent as on AWS.
    for name in list(self.deployment_groups.get(application_name, {})):
        self.delete_deployment_group(application_name, name)
    self.deployment_groups.pop(application_name, None)
    if self.applications.pop(application_name, None) is not None:
        self.tagger.delete_all_tags_for_resource(self._application_arn(application_name))


@patch(CodeDeployBackend, "stop_deployment")
def _codedeploy_backend_stop_deployment(self, deployment_id, auto_rollback_enabled=False):
    """StopDeployment with autoRollbackEnabled during the termination wait reroutes traffic to the original task
    set (CodeDeploy User Guide, "Redeploy and roll back a deployment"); before the shift there is nothing to undo."""
    deployment = self.get_deployment(deployment_id)
    if deployment.status in ("Succeeded", "Failed", "Stopped"):
        raise JsonRESTError("DeploymentAlreadyCompletedException", f"Deployment {deployment_id} has already completed.")
    deployment.status, deployment.complete_time = "Stopped", utcnow()
    if auto_rollback_enabled:
        getattr(deployment, "ghost_undo", lambda: None)()
    return deployment


@patch(codedeploy_responses.CodeDeployResponse, "update_deployment_group")
def _codedeploy_update_group(self):
    params = dict(self.params)
    app, current = params.pop("applicationName"), params.pop("currentDeploymentGroupName")
    group = self.codedeploy_backend.update_deployment_group(app, current, params.pop("newDeploymentGroupName", None),
                                                            params)
    # Lifecycle hooks exist only for EC2 Auto Scaling groups: an ECS group answers an empty object.
    return ActionResult({} if group.application.compute_platform == "ECS" else {"hooksNotCleanedUp": []})


@patch(codedeploy_responses.CodeDeployResponse, "delete_deployment_group")
def _codedeploy_delete_group(self):
    self.codedeploy_backend.delete_deployment_group(self._get_param("applicationName"),
                                                    self._get_param("deploymentGroupName"))
    return ActionResult({"hooksNotCleanedUp": []})


@patch(codedeploy_responses.CodeDeployResponse, "delete_application")
def _codedeploy_delete_application(self):
    self.codedeploy_backend.delete_application(self._get_param("applicationName"))
    return EmptyResult()


@patch(codedeploy_responses.CodeDeployResponse, "stop_deployment")
def _codedeploy_stop_deployment(self):
    d = self.codedeploy_backend.stop_deployment(self._get_param("deploymentId"),
                                                bool(self._get_param("autoRollbackEnabled")))
    return ActionResult({"status": "Succeeded", "statusMessage": f"Deployment {d.deployment_id} of application "
                                                                 f"{d.application_name} stopped."})


# --- AWS Backup: the recovery points of EFS automatic backups ----------------------------------------------------
# EFS User Guide, "Backing up EFS file systems": with automatic backups on, AWS Backup's default EFS plan takes a
# daily backup kept 35 days, in the aws/efs/automatic-backup-vault that EFS creates; a file system's deletion leaves
# its recovery points there, billed, until they expire. They can be deleted ("You can delete unused snapshots in the
# Amazon EFS automatic backup vault", AWS Backup Developer Guide, "Delete a backup vault") unless the vault's access
# policy denies backup:DeleteRecoveryPoint (AWS Backup Developer Guide, "Vault access policies"); deletion is not
# immediate (RecoveryPointStatus DELETING). moto has no recovery points; the nightly job runs on
# `POST /_ghost/backup/run`.
AUTOMATIC_VAULT = "aws/efs/automatic-backup-vault"
AWS_SECONDS["recovery-point/deleting"] = 30


class AutomaticBackups:
    def __init__(self):
        self.lock = threading.Lock()
        self.points = {}  # recovery point ARN -> its description
        self.policies = {}  # (region, vault) -> policy text

    def back_up(self, region, fs):
        arn = f"arn:aws:backup:{region}:{DEFAULT_ACCOUNT_ID}:recovery-point:{uuid.uuid4()}"
        point = {"RecoveryPointArn": arn, "BackupVaultName": AUTOMATIC_VAULT,
                 "BackupVaultArn": f"arn:aws:backup:{region}:{DEFAULT_ACCOUNT_ID}:backup-vault:{AUTOMATIC_VAULT}",
                 "ResourceArn": fs.file_system_arn, "ResourceType": "EFS", "ResourceName": "",
                 "CreationDate": time.time(), "CompletionDate": time.time(), "Status": "COMPLETED",
                 "BackupSizeInBytes": 6144, "IamRoleArn": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/aws-service-role/"
                 "backup.amazonaws.com/AWSServiceRoleForBackup",
                 "CreatedBy": {"BackupPlanId": "aws/efs/automatic-backup-plan", "BackupRuleId": "daily"},
                 "Lifecycle": {"DeleteAfterDays": 35}, "VaultType": "BACKUP_VAULT", "_region": region}
        with self.lock:
            self.points[arn] = point
        return arn

    @staticmethod
    def operation(environ, body):
        """(operation, params) of a request for one of ours, else (None, None). Read off the raw path: vault names
        and resource ARNs hold slashes the SDK sends percent-encoded, which the decoded PATH_INFO loses."""
        raw = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")).split("?")[0]
        parts = [urllib.parse.unquote(p) for p in raw.strip("/").split("/")]
        method = environ.get("REQUEST_METHOD", "GET")
        if len(parts) == 3 and parts[0] == "resources" and parts[2] == "recovery-points" and method == "GET":
            return "ListRecoveryPointsByResource", {"ResourceArn": parts[1]}
        if len(parts) < 3 or parts[0] != "backup-vaults":
            return None, None
        vault = {"BackupVaultName": parts[1]}
        if parts[2:] == ["recovery-points"] and method == "GET":
            return "ListRecoveryPointsByBackupVault", vault
        if len(parts) == 4 and parts[2] == "recovery-points":
            action = {"GET": "DescribeRecoveryPoint", "DELETE": "DeleteRecoveryPoint"}.get(method)
            return action, {**vault, "RecoveryPointArn": parts[3]}
        if parts[2:] == ["access-policy"]:
            action = {"GET": "GetBackupVaultAccessPolicy", "PUT": "PutBackupVaultAccessPolicy",
                      "DELETE": "DeleteBackupVaultAccessPolicy"}.get(method)
            policy = (json.loads(body) if body else {}).get("Policy")
            return action, {**vault, "Policy": policy}
        return None, None

    @staticmethod
    def public(point):
        return {k: v for k, v in point.items() if not k.startswith("_")}

    def denies_delete(self, region, vault):
        statements = _policy_statements(self.policies.get((region, vault)))
        return any(isinstance(st, dict) and st.get("Effect") == "Deny"
                   and "backup:deleterecoverypoint" in [a.lower() for a in _listed(st.get("Action"))]
                   for st in statements)

    def call(self, action, params, region):
        missing = lambda what: (404, {"code": "ResourceNotFoundException", "Message": f"{what} not found",  # noqa
                                      "Type": "User"})
        with self.lock:
            points = [p for p in self.points.values() if p["_region"] == region]
            if action == "ListRecoveryPointsByResource":
                rows = [self.public(p) for p in points if p["ResourceArn"] == params.get("ResourceArn")]
                return 200, {"RecoveryPoints": rows}
            if action == "ListRecoveryPointsByBackupVault":
                rows = [self.public(p) for p in points if p["BackupVaultName"] == params.get("BackupVaultName")]
                return 200, {"RecoveryPoints": rows}
            vault = params.get("BackupVaultName")
            if action in ("DescribeRecoveryPoint", "DeleteRecoveryPoint"):
                point = self.points.get(params.get("RecoveryPointArn"))
                if point is None or point["_region"] != region or point["BackupVaultName"] != vault:
                    return missing(f"Recovery point {params.get('RecoveryPointArn')}")
                if action == "DescribeRecoveryPoint":
                    return 200, self.public(point)
                if self.denies_delete(region, vault):
                    return 403, {"code": "AccessDeniedException", "Message": (
                        f"Insufficient privileges to perform this action: the access policy of backup vault {vault} "
                        "denies backup:DeleteRecoveryPoint")}
                if point["Status"] != "DELETING":
                    point["Status"] = "DELETING"
                    arn = point["RecoveryPointArn"]
                    later(AWS_SECONDS["recovery-point/deleting"], lambda: self.gone(arn))
                return 200, {}
            if action == "GetBackupVaultAccessPolicy":
                policy = self.policies.get((region, vault))
                if policy is None:
                    return missing(f"Access policy of backup vault {vault}")
                return 200, {"BackupVaultName": vault, "Policy": policy}
            if action == "PutBackupVaultAccessPolicy":
                self.policies[(region, vault)] = params.get("Policy") or ""
                return 200, {}
            self.policies.pop((region, vault), None)
            return 200, {}

    def gone(self, arn):
        with self.lock:
            self.points.pop(arn, None)


# --- RDS-managed master secrets rotate ---------------------------------------------------------------------------
# RDS User Guide, "Password management with Amazon RDS and AWS Secrets Manager": with ManageMasterUserPassword RDS
# generates the password, keeps it in a secret it owns, "and rotates the secret every seven days by default"; a
# rotation on demand is ModifyDBInstance RotateMasterUserPassword, which "must" apply immediately. Secrets Manager User
# Guide, "Managed rotation": "Rotation for managed secrets typically completes within one minute"; RotateSecret on a
# managed secret rotates it (and its RotationRules change the schedule, the way terraform's
# aws_secretsmanager_secret_rotation without a Lambda does). The database's password changes with the secret: a
# process that read the old one at start (an ECS task's secrets are resolved once, when it starts) cannot open a new
# connection after the rotation. moto makes the secret with the fixed password "P@55w0rd!", the username "admin"
# whatever the instance's, and never rotates it. `POST /_ghost/rotation/run` brings every schedule's next turn
# forward to now (7 days is long even on a fast clock).
AWS_SECONDS.update({"rds-secret/rotation-period": 7 * 86400, "rds-secret/rotating": 60})
# RDS API reference, CreateDBInstance MasterUserPassword: "any printable ASCII character except '/', '"', '@'" (nor
# a space); RDS-generated passwords are long random strings of that set.
RDS_PASSWORD_CHARS = "".join(c for c in map(chr, range(33, 127)) if c not in "/\"@'")
MANAGED_SECRETS = {}  # secret ARN -> the MasterUserSecret whose schedule runs here
MANAGED_SECRETS_LOCK = threading.RLock()


def rds_generated_password():
    rng = random.SystemRandom()
    return "".join(rng.choice(RDS_PASSWORD_CHARS) for _ in range(28))


def _rds_secret_string(mus):
    return json.dumps({"username": mus.resource.master_username or "admin", "password": rds_generated_password()})


def _instance_factor(mus):
    factor = mus.resource.__dict__.get("_ghost_factor")
    return CLOCK["factor"] if factor is None else factor


def _managed_secret_gone(mus):
    secret = mus.secretsmanager.secrets.get(mus.secret.arn)
    return secret is None or secret.is_deleted() or getattr(mus.resource, "master_user_secret", None) is not mus


def schedule_rotation(mus, days=None):
    """The next scheduled rotation, `days` (the secret's AutomaticallyAfterDays) AWS days from now on the instance's
    clock. With the clock off a schedule would come due at once, again and again: only on-demand rotations then."""
    secret = mus.secret
    days = days or secret.auto_rotate_after_days or 7
    secret.rotation_requested, secret.rotation_enabled, secret.auto_rotate_after_days = True, True, days
    secret.rotation_lambda_arn = ""
    factor = _instance_factor(mus)
    period = AWS_SECONDS["rds-secret/rotation-period"] * days / 7
    turn = mus.__dict__["_ghost_turn"] = mus.__dict__.get("_ghost_turn", 0) + 1
    if factor <= 0:
        secret.next_rotation_date = int(time.time() + period)
        return
    secret.next_rotation_date = int(later_at(time.time() + period * factor,
                                             lambda: mus.__dict__.get("_ghost_turn") == turn and start_rotation(mus)))


def start_rotation(mus):
    """A rotation in progress for rds-secret/rotating AWS seconds (MasterUserSecret.SecretStatus `rotating`), then
    the new password is the database's and the secret's AWSCURRENT, the old one its AWSPREVIOUS."""
    with MANAGED_SECRETS_LOCK:
        if _managed_secret_gone(mus) or mus.__dict__.get("_ghost_rotating_until", 0) > time.time():
            return
        factor = _instance_factor(mus)
        mus.__dict__["_ghost_rotating_until"] = time.time() + AWS_SECONDS["rds-secret/rotating"] * factor
        later_at(mus.__dict__["_ghost_rotating_until"], lambda: finish_rotation(mus))


def finish_rotation(mus):
    with MANAGED_SECRETS_LOCK:
        if _managed_secret_gone(mus):
            return
        value = _rds_secret_string(mus)
        mus.secretsmanager.put_secret_value(mus.secret.arn, secret_string=value, secret_binary=None,
                                            client_request_token=None, version_stages=["AWSCURRENT"])
        mus.secret.last_rotation_date = int(time.time())
        mus.__dict__.pop("_ghost_rotating_until", None)
        schedule_rotation(mus)


_mus_init = MasterUserSecret.__init__


def _mus_init_scheduled(self, resource, kms_key_id):
    _mus_init(self, resource, kms_key_id)
    with MANAGED_SECRETS_LOCK:
        MANAGED_SECRETS[self.secret.arn] = self
    schedule_rotation(self, 7)


MasterUserSecret.__init__ = _mus_init_scheduled
MasterUserSecret._generate_secret_string = _rds_secret_string
MasterUserSecret.rotate_secret = start_rotation
_mus_status = MasterUserSecret.secret_status.fget
MasterUserSecret.secret_status = property(
    lambda self: "rotating" if self.__dict__.get("_ghost_rotating_until", 0) > time.time() else _mus_status(self))
_sm_rotate = SecretsManagerBackend.rotate_secret


@functools.wraps(_sm_rotate)
def _sm_rotate_managed(self, secret_id, client_request_token=None, rotation_lambda_arn=None, rotation_rules=None,
                       rotate_immediately=True):
    secret = self.secrets.get(secret_id) if self._is_valid_identifier(secret_id) else None
    with MANAGED_SECRETS_LOCK:
        mus = MANAGED_SECRETS.get(getattr(secret, "arn", None))
    if mus is None or _managed_secret_gone(mus):
        return _sm_rotate(self, secret_id, client_request_token, rotation_lambda_arn, rotation_rules,
                          rotate_immediately)
    days = (rotation_rules or {}).get("AutomaticallyAfterDays")  # its range is the model's, checked on the way in
    if days is not None:
        schedule_rotation(mus, int(days))
    if rotate_immediately is not False:
        start_rotation(mus)
    return secret.to_short_dict()


SecretsManagerBackend.rotate_secret = _sm_rotate_managed


def rotate_managed_secrets_now():
    """Every RDS-managed secret's next scheduled rotation, now. Returns the ARNs of the secrets rotating."""
    with MANAGED_SECRETS_LOCK:
        for arn in [arn for arn, mus in MANAGED_SECRETS.items() if _managed_secret_gone(mus)]:
            MANAGED_SECRETS.pop(arn)
        live = dict(MANAGED_SECRETS)
    for mus in live.values():
        start_rotation(mus)
    return list(live)


# --- CodeCommit commits -------------------------------------------------------------------------------------------
# moto has repositories only. CodeCommit API reference, PutFile: adds a file in a branch and commits it;
# `parentCommitId` "If this is an empty repository, no commit ID is required. If this is not an empty repository, a
# commit ID is required" (ParentCommitIdRequiredException; one not the branch's head: ParentCommitIdOutdatedException);
# the first commit creates the branch, which becomes the repository's default branch. GetBranch: the branch's head,
# BranchDoesNotExistException. Contents are not kept: nothing here reads them.
def _codecommit_repo(backend, name):
    repo = backend.repositories.get(name)
    if repo is None:
        raise RepositoryDoesNotExistException(name)
    if not hasattr(repo, "ghost_branches"):
        repo.ghost_branches = {}
    return repo


@patch(CodeCommitResponse, "put_file")
def _codecommit_put_file(self):
    repo = _codecommit_repo(self.codecommit_backend, self._get_param("repositoryName"))
    branch, parent = self._get_param("branchName"), self._get_param("parentCommitId")
    head = repo.ghost_branches.get(branch)
    if repo.ghost_branches and head is None:
        raise JsonRESTError("BranchDoesNotExistException", f"Branch {branch} does not exist.")
    if head is not None and not parent:
        raise JsonRESTError("ParentCommitIdRequiredException",
                            "A parent commit ID is required. To view the full commit ID of a branch in a repository, "
                            "use GetBranch or a Git command (for example, git show-ref).")
    if head is not None and parent != head:
        raise JsonRESTError("ParentCommitIdOutdatedException",
                            f"The parent commit ID {parent} is not the tip of branch {branch}.")
    commit = uuid.uuid4().hex + uuid.uuid4().hex[:8]
    repo.ghost_branches[branch] = commit
    repo.repository_metadata.setdefault("defaultBranch", branch)
    return json.dumps({"commitId": commit, "blobId": uuid.uuid4().hex + uuid.uuid4().hex[:8],
                       "treeId": uuid.uuid4().hex + uuid.uuid4().hex[:8]})


@patch(CodeCommitResponse, "get_branch")
def _codecommit_get_branch(self):
    repo = _codecommit_repo(self.codecommit_backend, self._get_param("repositoryName"))
    branch = self._get_param("branchName")
    if branch not in repo.ghost_branches:
        raise JsonRESTError("BranchDoesNotExistException", f"Branch {branch} does not exist.")
    return json.dumps({"branch": {"branchName": branch, "commitId": repo.ghost_branches[branch]}})


# --- CodePipeline --------------------------------------------------------------------------------------------------
# AWS's JSON protocol carries timestamps as epoch seconds; moto wrote ISO strings here, which botocore and the
# schema-based Rust SDK tolerate but a strict JSON-protocol parser (aws-smithy-json's EpochSeconds) does not.
CodePipeline.metadata = property(lambda self: {"pipelineArn": self._arn, "created": unix_time(self._created),
                                               "updated": unix_time(self._updated)})
_codepipeline_summary = PipelineExecution.to_summary_dict


@patch(PipelineExecution, "to_summary_dict")
def _codepipeline_execution_summary(self):
    trigger = {"triggerType": getattr(self, "ghost_trigger", "StartPipelineExecution"), "triggerDetail": ""}
    return {**_codepipeline_summary(self), "startTime": unix_time(self.start_time),
            "lastUpdateTime": unix_time(self.last_update_time), "trigger": trigger}


# --- Pipeline executions run, stage by stage --------------------------------------------------------------------
# moto's executions "succeed" as they start. On AWS an execution runs each stage in turn: the source action reads
# the source (a CodeCommit branch that has no commit fails it), CodeBuild builds, a manual approval waits for a
# person, the deploy action lasts as long as its deployment. "When a pipeline is created, a pipeline execution starts
# automatically" (CodePipeline User Guide, "Start a pipeline in CodePipeline": the CreatePipeline trigger). Each
# state change is an EventBridge event ("CodePipeline Pipeline Execution State Change", STARTED, then SUCCEEDED,
# FAILED or STOPPED, with its `execution-trigger`; CodePipeline User Guide, "Monitoring CodePipeline events").
AWS_SECONDS.update({
    "pipeline/source": 10,  # a CodeCommit or connection source action: fetch and zip the commit
    "pipeline/build": 300,  # CodeBuild: provisioning (~1 min) and the site image's docker build and push
    "pipeline/ecs-deploy": 120,  # the ECS (rolling or native blue/green) deploy action's deployment
})
CONNECTIONS = {"store": None}  # the launcher's CodeConnections, for a connection source's check


def _source_problem(account_id, region, action):
    """Why a source action finds nothing to fetch, or None."""
    config, provider = action.get("configuration") or {}, action["actionTypeId"]["provider"]
    if provider == "CodeCommit":
        from moto.codecommit.models import codecommit_backends
        repo = codecommit_backends[account_id][region].repositories.get(config.get("RepositoryName"))
        branch = config.get("BranchName")
        if repo is None or branch not in getattr(repo, "ghost_branches", {}):
            # Not confirmed: AWS's exact wording (docs/aws/codedeploy-codepipeline-backup.md).
            return (f"The action failed because no branch named {branch} was found in the selected AWS CodeCommit "
                    f"repository {config.get('RepositoryName')}. Make sure you are using the correct branch name, "
                    "and then try again.")
    if provider == "CodeStarSourceConnection":
        store = CONNECTIONS["store"]
        connection = store.connections.get(config.get("ConnectionArn")) if store is not None else None
        if connection is None or connection.get("ConnectionStatus") != "AVAILABLE":
            return f"The connection {config.get('ConnectionArn')} is not available (status PENDING or unknown)."
    return None


def _stage_seconds(account_id, region, stage):
    """AWS seconds a stage takes, None while it waits for a person (a manual approval)."""
    seconds = 0
    for action in stage.get("actions", []):
        category, provider = action["actionTypeId"]["category"], action["actionTypeId"]["provider"]
        if category == "Approval":
            return None
        if category == "Source":
            seconds = max(seconds, AWS_SECONDS["pipeline/source"])
        elif category == "Build":
            seconds = max(seconds, AWS_SECONDS["pipeline/build"])
        elif provider == "CodeDeployToECS":
            from moto.codedeploy.models import codedeploy_backends
            config = action.get("configuration") or {}
            groups = codedeploy_backends[account_id][region].deployment_groups.get(
                config.get("ApplicationName"), {})
            group = groups.get(config.get("DeploymentGroupName"))
            wait = _termination_wait_seconds(group) if group is not None else 0
            seconds = max(seconds, AWS_SECONDS["codedeploy/install"] + wait)
        else:
            seconds = max(seconds, AWS_SECONDS["pipeline/ecs-deploy"])
    return seconds


def _execution_event(backend, pipeline, execution, state):
    emit_service_event(backend.account_id, backend.region_name, "aws.codepipeline",
                       "CodePipeline Pipeline Execution State Change",
                       {"pipeline": pipeline.pipeline["name"], "execution-id": execution.pipeline_execution_id,
                        "execution-trigger": {"trigger-type": execution.ghost_trigger, "trigger-detail": ""},
                        "state": state, "version": float(pipeline.pipeline["version"])},
                       [f"arn:aws:codepipeline:{backend.region_name}:{backend.account_id}:{pipeline.pipeline['name']}"])


def end_execution(backend, pipeline, execution, status, stage=None, error=None):
    if execution.status != "InProgress":
        return
    if stage is not None:
        execution.ghost_stages[stage] = (status, error)
    for name, (state, _) in list(execution.ghost_stages.items()):
        if state == "InProgress":
            execution.ghost_stages[name] = ("Stopped" if status == "Stopped" else status, None)
    execution.status, execution.last_update_time = status, utcnow()
    _execution_event(backend, pipeline, execution, status.upper())


def run_execution(backend, pipeline, execution, trigger):
    """Runs `execution` through the pipeline's stages on the lifecycle clock (the starting caller's factor)."""
    execution.status, execution.ghost_trigger, execution.ghost_stages = "InProgress", trigger, {}
    factor = clock_factor()
    stages = list(pipeline.pipeline["stages"])
    _execution_event(backend, pipeline, execution, "STARTED")

    def enter(i, at):
        """Stage i starts at wall-clock time `at` (when the one before it ended, however late that is seen)."""
        if execution.status != "InProgress":
            return
        if i == len(stages):
            end_execution(backend, pipeline, execution, "Succeeded")
            return
        stage = stages[i]
        execution.ghost_stages[stage["name"]] = ("InProgress", None)
        execution.last_update_time = utcnow()
        seconds = _stage_seconds(backend.account_id, backend.region_name, stage)
        if seconds is None:
            return  # a manual approval: in progress until someone answers or the execution is stopped

        def leave():
            if execution.status != "InProgress":
                return
            sources = [a for a in stage["actions"] if a["actionTypeId"]["category"] == "Source"]
            problem = next((p for p in (_source_problem(backend.account_id, backend.region_name, a)
                                        for a in sources) if p), None)
            if problem:
                end_execution(backend, pipeline, execution, "Failed", stage["name"], problem)
                return
            execution.ghost_stages[stage["name"]] = ("Succeeded", None)
            enter(i + 1, at + seconds * factor)

        later_at(at + seconds * factor, leave)

    enter(0, time.time())


_codepipeline_create = CodePipelineBackend.create_pipeline


@patch(CodePipelineBackend, "create_pipeline")
def _codepipeline_created(self, pipeline, tags):
    created = _codepipeline_create(self, pipeline, tags)
    self.start_pipeline_execution(pipeline["name"], None, trigger="CreatePipeline")
    return created


_codepipeline_execution_dict = PipelineExecution.to_dict


@patch(PipelineExecution, "to_dict")
def _codepipeline_execution_to_dict(self):
    trigger = {"triggerType": getattr(self, "ghost_trigger", "StartPipelineExecution"), "triggerDetail": ""}
    return {**_codepipeline_execution_dict(self), "trigger": trigger}


# A pipeline execution's status as a stage and as an action report it (StageExecution / ActionExecution enums).
STAGE_STATUS = {"Superseded": "Cancelled"}
ACTION_STATUS = {"Stopped": "Abandoned", "Stopping": "Abandoned", "Cancelled": "Abandoned", "Superseded": "Abandoned"}


@patch(CodePipelineResponse, "get_pipeline_state")
def _codepipeline_get_pipeline_state(self):
    name = self._get_param("name")
    pipeline = self.codepipeline_backend.pipelines.get(name)
    if pipeline is None:
        raise PipelineNotFoundException(f"Account '{self.current_account}' does not have a pipeline with name '{name}'")
    latest = list(pipeline.executions.values())[-1] if pipeline.executions else None
    stages = []
    for i, stage in enumerate(pipeline.pipeline["stages"]):
        state = {"stageName": stage["name"], "actionStates": [{"actionName": a["name"]} for a in stage["actions"]]}
        if i > 0:
            state["inboundTransitionState"] = {"enabled": True}
        progress = getattr(latest, "ghost_stages", {}).get(stage["name"]) if latest is not None else None
        if progress is not None:
            status, error = progress
            state["latestExecution"] = {"pipelineExecutionId": latest.pipeline_execution_id,
                                        "status": STAGE_STATUS.get(status, status)}
            for action in state["actionStates"]:
                action["latestExecution"] = {"status": ACTION_STATUS.get(status, status),
                                             "lastStatusChange": unix_time(latest.last_update_time)}
                if error:
                    action["latestExecution"]["errorDetails"] = {"code": "JobFailed", "message": error}
        stages.append(state)
    meta = pipeline.metadata
    return json.dumps({"pipelineName": name, "pipelineVersion": pipeline.pipeline["version"], "stageStates": stages,
                       "created": meta["created"], "updated": meta["updated"]})


@patch(CodePipelineResponse, "stop_pipeline_execution")
def _codepipeline_stop_pipeline_execution(self):
    execution = self.codepipeline_backend.get_pipeline_execution(self._get_param("pipelineName"),
                                                                 self._get_param("pipelineExecutionId"))
    # API reference, StopPipelineExecution: PipelineExecutionNotStoppableException "Unable to stop the pipeline
    # execution. The execution might already be in a Stopped state, or it might no longer be in progress."
    if execution.status != "InProgress":
        raise JsonRESTError("PipelineExecutionNotStoppableException",
                            f"Unable to stop pipeline execution {execution.pipeline_execution_id}: it is "
                            f"{execution.status}, no longer in progress.")
    execution.status_summary = self._get_param("reason")
    pipeline = self.codepipeline_backend.pipelines[self._get_param("pipelineName")]
    end_execution(self.codepipeline_backend, pipeline, execution, "Stopped")
    return json.dumps({"pipelineExecutionId": execution.pipeline_execution_id})


# --- CodeConnections (no moto backend) -----------------------------------------------------------------------------
# --- IAM propagation and service-linked roles ----------------------------------------------------------------------
# IAM is eventually consistent: a new role is seen by IAM at once but by other services only "after a delay" (IAM
# User Guide, "Changes that I make are not always immediately visible"; no duration is published, 2-30 s observed,
# terraform-provider-aws retries each such call for 2 minutes). Here a role is not assumable by another service for
# AWS_SECONDS["iam-role/propagation"] times the clock factor, and each call below refuses it with that service's own
# error (docs/aws/iam-propagation-and-sns-kms.md A.1), as it refuses a role that does not exist or does not trust it.
AWS_SECONDS["iam-role/propagation"] = 10
_role_init = Role.__init__


def _role_born(self, *args, **kwargs):
    self.__dict__.update(_ghost_born=time.time(), _ghost_factor=clock_factor())
    _role_init(self, *args, **kwargs)


Role.__init__ = _role_born


def _iam_of(arn):
    parts = arn.split(":")
    return iam_backends[parts[4] if len(parts) > 4 and parts[4] else DEFAULT_ACCOUNT_ID]["aws"]


def _role_by_arn(arn):
    try:
        return _iam_of(arn).get_role_by_arn(arn)
    except Exception:  # IAMNotFoundException, or a malformed ARN: AWS cannot assume it either
        return None


def _propagated(role):
    return aws_age(role) >= AWS_SECONDS["iam-role/propagation"]


def _trusts(role, service):
    try:
        document = json.loads(urllib.parse.unquote(role.assume_role_policy_document))
    except (TypeError, ValueError):
        return False
    for st in document.get("Statement", []):
        principals = (st.get("Principal") or {}).get("Service", []) if isinstance(st.get("Principal"), dict) else []
        principals = [principals] if isinstance(principals, str) else principals
        if st.get("Effect") == "Allow" and service in principals:
            return True
    return False


def assumable(arn, service):
    """True when `service` can assume the role now: it exists, has propagated, and trusts the service."""
    role = _role_by_arn(arn) if arn else None
    return role is not None and _propagated(role) and _trusts(role, service)


def _refuse_unassumable(cls, name, service, arn_of, error):
    """Wraps backend method `name`: the role it names must be assumable by `service`, else `error(arn)` is raised."""
    original = getattr(cls, name)

    @functools.wraps(original)
    def guarded(self, *args, **kwargs):
        arn = arn_of(*args, **kwargs)
        if arn and not assumable(arn, service):
            raise error(arn)
        return original(self, *args, **kwargs)

    setattr(cls, name, guarded)


# CodeBuild User Guide, troubleshooting "CodeBuild is not authorized to perform: sts:AssumeRole".
_refuse_unassumable(CodeBuildBackend, "create_project", "codebuild.amazonaws.com",
                    lambda *a, **kw: kw.get("service_role"),
                    lambda arn: codebuild_errors.InvalidInputException(
                        f"CodeBuild is not authorized to perform: sts:AssumeRole on {arn}"))
_refuse_unassumable(CodeBuildBackend, "update_project", "codebuild.amazonaws.com",
                    lambda name, fields: fields.get("serviceRole"),
                    lambda arn: codebuild_errors.InvalidInputException(
                        f"CodeBuild is not authorized to perform: sts:AssumeRole on {arn}"))
# CodePipeline: InvalidStructureException "CodePipeline is not authorized to perform AssumeRole on role <arn>"
# (quoted in the SageMaker Developer Guide); moto checks existence and trust on create only.
for _name in ("create_pipeline", "update_pipeline"):
    _refuse_unassumable(CodePipelineBackend, _name, "codepipeline.amazonaws.com",
                        lambda *a, **kw: (kw.get("pipeline") or a[0]).get("roleArn"),
                        lambda arn: InvalidStructureException(
                            f"CodePipeline is not authorized to perform AssumeRole on role {arn}"))
# CodeDeploy API reference, CreateDeploymentGroup / UpdateDeploymentGroup: InvalidRoleException "The service role
# ARN was specified in an invalid format. Or, if an Auto Scaling group was specified, the specified service role does
# not grant the appropriate permissions"; the wording below is a live capture.
_codedeploy_role_error = lambda arn: JsonRESTError(  # noqa: E731
    "InvalidRoleException", f"AWS CodeDeploy does not have the permissions required to assume the role {arn}.")
_refuse_unassumable(CodeDeployBackend, "create_deployment_group", "codedeploy.amazonaws.com",
                    lambda *a, **kw: kw.get("service_role_arn"), _codedeploy_role_error)
_refuse_unassumable(CodeDeployBackend, "update_deployment_group", "codedeploy.amazonaws.com",
                    lambda app, current, new_name, fields: fields.get("serviceRoleArn"), _codedeploy_role_error)
_efs_put_policy = EFSBackend.put_file_system_policy


def _put_file_system_policy(self, file_system_id, policy, *args, **kwargs):
    """EFS API reference, PutFileSystemPolicy: InvalidPolicyException; a principal IAM cannot show EFS yet (or at all)
    is "Policy contains invalid Principal block" (terraform matches that text and retries it for 2 minutes)."""
    try:
        statements = json.loads(policy).get("Statement", [])
    except ValueError:
        statements = []
    for st in statements if isinstance(statements, list) else [statements]:
        principal = st.get("Principal") if isinstance(st, dict) else None
        arns = principal.get("AWS", []) if isinstance(principal, dict) else []
        for arn in [arns] if isinstance(arns, str) else arns:
            role = _role_by_arn(arn) if ":role/" in arn else None
            if ":role/" in arn and (role is None or not _propagated(role)):
                raise JsonRESTError("InvalidPolicyException", "Policy contains invalid Principal block")
    return _efs_put_policy(self, file_system_id, policy, *args, **kwargs)


EFSBackend.put_file_system_policy = _put_file_system_policy

# ECS Developer Guide, "Using service-linked roles for Amazon ECS": ECS creates AWSServiceRoleForECS the first time it
# needs it. It propagates like any role, so the first CreateCluster with capacity providers in a fresh account fails
# with InvalidParameterException "Unable to assume the service linked role. Please verify that the ECS service linked
# role exists." (terraform-provider-aws ecs/cluster.go retries exactly that for 2 minutes).
ECS_SERVICE_LINKED_ROLE = "AWSServiceRoleForECS"
iam_models.SERVICE_NAME_CONVERSION["ecs"] = "ECS"  # moto would name CreateServiceLinkedRole's role AWSServiceRoleForecs


def ecs_service_linked_role(account_id):
    iam = iam_backends[account_id]["aws"]
    found = [r for r in iam.roles.values() if r.name == ECS_SERVICE_LINKED_ROLE]
    if found:
        return found[0]
    return iam.create_service_linked_role("ecs.amazonaws.com", "Role to enable Amazon ECS to manage your cluster.", "")


_ecs_create_cluster = EC2ContainerServiceBackend.create_cluster


def _create_cluster(self, cluster_name, *args, **kwargs):
    role = ecs_service_linked_role(self.account_id)
    wants_providers = kwargs.get("capacity_providers") or kwargs.get("default_capacity_provider_strategy") or (
        len(args) > 3 and (args[3] or (len(args) > 4 and args[4])))
    if wants_providers and not _propagated(role):
        raise ecs_errors.InvalidParameterException(
            "Unable to assume the service linked role. Please verify that the ECS service linked role exists.")
    return _ecs_create_cluster(self, cluster_name, *args, **kwargs)


EC2ContainerServiceBackend.create_cluster = _create_cluster


# --- EC2 eventual consistency: a new id is not seen everywhere at once --------------------------------------------
# EC2 API reference, "Eventual consistency in the Amazon EC2 API": "If you run a command to modify or describe the
# resource immediately after creating it, its ID might not have propagated throughout the system, and you will get
# an error responding that the resource does not exist." No duration is published (seconds are reported;
# terraform-provider-aws retries NotFound after a create for 2 minutes, ec2PropagationTimeout). Here, for
# AWS_SECONDS["ec2/id-propagation"] x the creator's clock factor, an id moto just made is refused by every EC2 call
# that names it as a parameter (not inside a Filter: a filtered describe answers without it), with the error code
# its describe call documents (EC2 API reference, "Error codes for the Amazon EC2 API").
AWS_SECONDS["ec2/id-propagation"] = 2
EC2_BORN = {}  # id -> (wall-clock time, clock factor) of what EC2 created here
EC2_NOT_FOUND = {
    "vpc-": ("InvalidVpcID.NotFound", "The vpc ID '{}' does not exist"),
    "subnet-": ("InvalidSubnetID.NotFound", "The subnet ID '{}' does not exist"),
    "sg-": ("InvalidGroup.NotFound", "The security group '{}' does not exist"),
    "igw-": ("InvalidInternetGatewayID.NotFound", "The internetGateway ID '{}' does not exist"),
    "rtb-": ("InvalidRouteTableID.NotFound", "The routeTable ID '{}' does not exist"),
    "nat-": ("NatGatewayNotFound", "The Nat Gateway {} was not found"),
    "eipalloc-": ("InvalidAllocationID.NotFound", "The allocation ID '{}' does not exist"),
}


def _ec2_born(attr):
    def record(self, result, *args, **kwargs):
        EC2_BORN[getattr(result, attr)] = (time.time(), clock_factor())
    return record


for _name, _attr in (("create_vpc", "id"), ("create_subnet", "id"), ("create_security_group", "id"),
                     ("create_internet_gateway", "id"), ("create_route_table", "id"), ("create_nat_gateway", "id"),
                     ("allocate_address", "allocation_id")):
    _after(EC2Backend, _name, _ec2_born(_attr))


def ec2_unseen(flat):
    """(code, message) when a parameter of an EC2 query request names an id still propagating."""
    now = time.time()
    for key, value in flat.items():
        if key.startswith(("Filter.", "TagSpecification.")) or value not in EC2_BORN:
            continue
        born, factor = EC2_BORN[value]
        if now - born >= AWS_SECONDS["ec2/id-propagation"] * factor:
            continue
        for prefix, (code, message) in EC2_NOT_FOUND.items():
            if value.startswith(prefix):
                return code, message.format(value)
    return None


# --- Who may publish to a topic: alarm actions and EventBridge targets ----------------------------------------------
# Nothing fails when an alarm or a rule is pointed at a topic; it fails when AWS delivers (docs/aws/
# iam-propagation-and-sns-kms.md Part B). CloudWatch alarms and EventBridge publish as AWS service principals, which
# the AWS managed key alias/aws/sns never lets use it ("you can't manually edit the policy for AWS managed keys"):
# an encrypted topic needs a customer managed key whose policy grants the service kms:GenerateDataKey* and
# kms:Decrypt (SNS Developer Guide, "Enable compatibility between event sources from AWS services and encrypted
# topics"; there, too: aws:SourceAccount / aws:SourceArn / aws:SourceOrgID in the key policy are "not supported for
# EventBridge-to-encrypted topics"), and a topic policy allowing sns:Publish. A failed alarm action is an Action item
# in the alarm's history with AWS's wording (Knowledge Center "configure a CloudWatch alarm with an encrypted SNS
# topic"); a failed rule target counts in AWS/Events FailedInvocations beside Invocations (EventBridge User Guide,
# troubleshooting "My rule runs, but I don't see any messages published into my Amazon SNS topic").
CLOUDWATCH_KMS_DENIED = "CloudWatch Alarms does not have authorization to access the SNS topic encryption key."
SOURCE_CONDITION_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid")


def _policy_statements(document):
    try:
        parsed = json.loads(document) if isinstance(document, str) else (document or {})
    except ValueError:
        return []
    statements = parsed.get("Statement", []) if isinstance(parsed, dict) else []
    return statements if isinstance(statements, list) else [statements]


def _listed(value):
    return [value] if isinstance(value, str) else list(value or [])


def _principal_is(principal, service):
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return service in _listed(principal.get("Service")) or "*" in _listed(principal.get("AWS"))


def _conditions_hold(conditions, context):
    """IAM condition operators a topic or key policy uses for a service publisher; an operator or key this does not
    know is taken as not holding (the statement grants nothing here), never as holding."""
    for operator, pairs in (conditions or {}).items():
        op = operator.lower()
        if op not in ("stringequals", "stringlike", "arnequals", "arnlike") or not isinstance(pairs, dict):
            return False
        for key, wanted in pairs.items():
            have = context.get(key.lower())
            if have is None:
                return False
            like = op.endswith("like")
            if not any(fnmatch.fnmatchcase(have, w) if like else have == w for w in _listed(wanted)):
                return False
    return True


def policy_allows(document, service, actions, context, source_conditions=True):
    """True when an Allow statement of `document` lets `service` do every one of `actions` (IAM action wildcards)
    with `context`'s condition values. `source_conditions=False`: a statement with a source condition grants
    nothing (EventBridge and KMS)."""
    def grants(st, action):
        if not isinstance(st, dict) or st.get("Effect") != "Allow" or not _principal_is(st.get("Principal"), service):
            return False
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _listed(st.get("Action"))):
            return False
        conditions = st.get("Condition") or {}
        keys = {k.lower() for pairs in conditions.values() if isinstance(pairs, dict) for k in pairs}
        if not source_conditions and keys & set(SOURCE_CONDITION_KEYS):
            return False
        return _conditions_hold(conditions, context)

    statements = _policy_statements(document)
    return all(any(grants(st, action) for st in statements) for action in actions)


def _kms_key(account_id, region, key_id):
    from moto.kms.models import kms_backends

    backend = kms_backends[account_id][region]
    try:
        return backend.describe_key(key_id)
    except Exception:  # NotFoundException, KeyError: no such key or alias
        return None


def topic_publish_problem(topic_arn, service, source_arn):
    """Why `service`, on behalf of `source_arn`, cannot publish to `topic_arn` (None when it can): ("kms" | "policy"
    | "topic", message)."""
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    if len(parts) < 6:
        return "topic", f"Invalid topic {topic_arn}"
    account, region = parts[4], parts[3]
    topic = sns_backends[account][region].topics.get(topic_arn)
    if topic is None:
        return "topic", f"Topic {topic_arn} does not exist"
    key_id = topic.kms_master_key_id
    if key_id:
        key = _kms_key(account, region, key_id)
        aws_managed = key is None or any(a.startswith("alias/aws/") for a in key.aliases)
        usable = not aws_managed and key.key_state == "Enabled" and policy_allows(
            key.policy, service, ["kms:GenerateDataKey", "kms:Decrypt"],
            {"aws:sourceaccount": account, "aws:sourcearn": source_arn},
            source_conditions=service != "events.amazonaws.com")
        if not usable:
            return "kms", CLOUDWATCH_KMS_DENIED
    context = {"aws:sourceaccount": account, "aws:sourceowner": account, "aws:sourcearn": source_arn}
    if not policy_allows(topic.policy, service, ["sns:Publish"], context):
        return "policy", f"Resource: {source_arn} is not authorized to perform: SNS:Publish on resource: {topic_arn}"
    return None


def publish_as_service(topic_arn, service, source_arn, subject, message):
    """Delivers as AWS would for `service`; returns the problem (see topic_publish_problem) or None."""
    from moto.sns.models import sns_backends

    problem = topic_publish_problem(topic_arn, service, source_arn)
    if problem is None:
        parts = topic_arn.split(":")
        topic = sns_backends[parts[4]][parts[3]].topics[topic_arn]
        topic.__dict__.setdefault("_ghost_published", []).append({"from": source_arn, "subject": subject,
                                                                   "message": message})
    return problem


# CloudWatch API reference, DescribeAlarmHistory: items of type ConfigurationUpdate, StateUpdate or Action, newest
# first (ScanBy TimestampDescending), filtered by AlarmName, AlarmTypes, HistoryItemType, StartDate and EndDate. A
# state change runs the actions configured for the new state when ActionsEnabled (PutMetricAlarm AlarmActions,
# OKActions, InsufficientDataActions), SetAlarmState included ("use this to test alarm actions"). moto keeps neither.
def alarm_history(alarm):
    return alarm.__dict__.setdefault("_ghost_history", [])


def _history_item(alarm, kind, summary, data):
    alarm_history(alarm).append({"AlarmName": alarm.name, "AlarmType": "MetricAlarm", "Timestamp": utcnow(),
                                 "HistoryItemType": kind, "HistorySummary": summary,
                                 "HistoryData": json.dumps(data)})


_alarm_update_state = Alarm.update_state
_put_metric_alarm = CloudWatchBackend.put_metric_alarm


@patch(CloudWatchBackend, "put_metric_alarm")
def _alarm_keeps_history(self, name, *args, **kwargs):
    old = self.alarms.get(name)
    alarm = _put_metric_alarm(self, name, *args, **kwargs)
    if old is not None:  # moto replaces the alarm; AWS updates it and keeps its history
        alarm.__dict__["_ghost_history"] = alarm_history(old)
    return alarm


@patch(Alarm, "update_state")
def _alarm_state_changed(self, reason, reason_data, state_value):
    old = self.state_value
    _alarm_update_state(self, reason, reason_data, state_value)
    _history_item(self, "StateUpdate", f"Alarm updated from {old} to {state_value}", {
        "version": "1.0", "oldState": {"stateValue": old}, "newState": {"stateValue": state_value,
                                                                         "stateReason": reason}})
    if old == state_value or not self.actions_enabled:
        return
    actions = {"ALARM": self.alarm_actions, "OK": self.ok_actions,
               "INSUFFICIENT_DATA": self.insufficient_data_actions}.get(state_value) or []
    message = json.dumps({"AlarmName": self.name, "AlarmArn": self.alarm_arn, "NewStateValue": state_value,
                          "OldStateValue": old, "NewStateReason": reason})
    for action in actions:
        if ":sns:" not in action:
            continue  # scaling and EC2 actions: nothing to run here
        problem = publish_as_service(action, "cloudwatch.amazonaws.com", self.alarm_arn,
                                     f'{state_value}: "{self.name}"', message)
        if problem is None:
            _history_item(self, "Action", f"Successfully executed action {action}", {"actionState": "Succeeded",
                                                                                   "notificationResource": action})
        else:
            _history_item(self, "Action", f'Failed to execute action {action}. Received error: "{problem[1]}"',
                          {"actionState": "Failed", "notificationResource": action, "error": problem[1]})


@patch(CloudWatchResponse, "describe_alarm_history")
def _describe_alarm_history(self):
    get = self._get_param
    name, kind = get("AlarmName"), get("HistoryItemType")
    start, end = get("StartDate"), get("EndDate")
    # An alarm's items in the order they happened: a state update and the action it runs share a timestamp when the
    # clock does not tick between them, and the newer must still come first.
    items = [(n, i) for a in self.cloudwatch_backend.alarms.values() if name in (None, a.name)
             for n, i in enumerate(alarm_history(a))]
    items = [(n, i) for n, i in items if kind in (None, i["HistoryItemType"])]
    def stamp(v):  # moto hands a modelled timestamp over parsed; a query-protocol one is text
        if isinstance(v, datetime.datetime):
            parsed = v
        elif isinstance(v, str):
            parsed = parse_timestamp(v)
        else:
            parsed = datetime.datetime.fromtimestamp(float(v), datetime.timezone.utc)
        return parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed

    items = [(n, i) for n, i in items if (start is None or i["Timestamp"] >= stamp(start))
             and (end is None or i["Timestamp"] <= stamp(end))]
    items.sort(key=lambda e: (e[1]["Timestamp"], e[0]), reverse=get("ScanBy") != "TimestampAscending")
    limit = int(get("MaxRecords") or 100)
    return ActionResult({"AlarmHistoryItems": [i for _, i in items[:limit]]})


# EventBridge: AWS services put their events on the account's default bus ("Events from AWS services", EventBridge
# User Guide); a rule whose pattern matches sends to its targets, counting Invocations and, per failed target,
# FailedInvocations (namespace AWS/Events, dimension RuleName). moto delivers to SNS not at all and emits no service
# events, so the services here that finish work emit them: a pipeline execution (CodePipeline User Guide, "Monitoring
# CodePipeline events", detail-type "CodePipeline Pipeline Execution State Change").
def emit_service_event(account_id, region, source, detail_type, detail, resources):
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.events.models import events_backends

    bus = events_backends[account_id][region].event_buses.get("default")
    if bus is None:
        return
    event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
             "account": account_id, "time": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
             "resources": resources, "detail": detail}
    for rule in list(bus.rules.values()):
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):
            continue
        failed = 0
        for target in rule.targets:
            arn = target.get("Arn", "")
            if ":sns:" in arn and publish_as_service(arn, "events.amazonaws.com", rule.arn, detail_type,
                                                     json.dumps(event)) is not None:
                failed += 1
        now = utcnow()
        data = [{"MetricName": "Invocations", "Value": float(len(rule.targets)), "Unit": "Count", "Timestamp": now,
                 "Dimensions": [{"Name": "RuleName", "Value": rule.name}]}]
        if failed:
            data.append({"MetricName": "FailedInvocations", "Value": float(failed), "Unit": "Count",
                         "Timestamp": now, "Dimensions": [{"Name": "RuleName", "Value": rule.name}]})
        cloudwatch_backends[account_id][region].put_metric_data("AWS/Events", data)


_codepipeline_start = CodePipelineBackend.start_pipeline_execution


@patch(CodePipelineBackend, "start_pipeline_execution")
def _codepipeline_started(self, name, variables, trigger="StartPipelineExecution"):
    execution_id = _codepipeline_start(self, name, variables)
    run_execution(self, self.pipelines[name], self.pipelines[name].executions[execution_id], trigger)
    return execution_id


# KMS API reference, CreateKey and PutKeyPolicy (Policy; BypassPolicyLockoutSafetyCheck): every principal a key
# policy names "must exist and be visible to AWS KMS" (a new role is not, for a while: the IAM propagation above),
# else MalformedPolicyDocumentException; and unless the caller sets BypassPolicyLockoutSafetyCheck, the policy must
# let the caller make a later PutKeyPolicy request, else MalformedPolicyDocumentException too (the "policy lockout
# safety check"). moto stores any text. The caller here is the account's root (moto maps every key to it).
KMS_INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."
KMS_LOCKOUT = ("The new key policy will not allow you to update the key policy in the future.")


def key_policy_problem(document, account_id, bypass):
    statements = _policy_statements(document)
    if document and not statements:
        return "MalformedPolicyDocumentException", "The policy is not in a valid JSON format."
    for st in statements:
        principal = st.get("Principal") if isinstance(st, dict) else None
        for arn in _listed(principal.get("AWS")) if isinstance(principal, dict) else []:
            if arn == "*" or re.fullmatch(r"(arn:aws[a-z-]*:iam::)?\d{12}(:root)?", arn):
                continue
            role = _role_by_arn(arn) if ":role/" in arn else None
            known = role is not None and _propagated(role)
            if not known and ":user/" in arn:
                try:
                    known = _iam_of(arn).get_user(arn.rsplit("/", 1)[-1]) is not None
                except Exception:  # no such user
                    known = False
            if not known:
                return "MalformedPolicyDocumentException", KMS_INVALID_PRINCIPALS
    if document and not bypass:
        root = {"aws:principalarn": f"arn:aws:iam::{account_id}:root"}
        lets_caller = any(
            isinstance(st, dict) and st.get("Effect") == "Allow" and not st.get("Condition")
            and any(fnmatch.fnmatchcase("kms:putkeypolicy", a.lower()) for a in _listed(st.get("Action")))
            and isinstance(st.get("Principal"), (dict, str))
            and (st["Principal"] == "*" or any(a in ("*", account_id, root["aws:principalarn"])
                                              for a in _listed(st["Principal"].get("AWS"))))
            for st in statements)
        if not lets_caller:
            return "MalformedPolicyDocumentException", KMS_LOCKOUT
    return None


def _checked_key_policy(name):
    original = getattr(KmsResponse, name)

    @functools.wraps(original)
    def checked(self):
        bypass = str(self._get_param("BypassPolicyLockoutSafetyCheck")).lower() == "true"
        problem = key_policy_problem(self._get_param("Policy"), self.current_account, bypass)
        if problem:
            raise JsonRESTError(*problem)
        return original(self)

    setattr(KmsResponse, name, checked)


for _name in ("create_key", "put_key_policy"):
    _checked_key_policy(_name)


class AwsError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class CodeConnections:
    """CodeConnections as its API reference describes it, in memory. A connection stays PENDING until a person
    completes the provider handshake in the console; here only a test can do that (`/_ghost/connections/complete`)."""

    def __init__(self):
        self.connections = {}  # arn -> Connection (the API's shape)
        self.tags = {}  # arn -> [{"Key", "Value"}]

    def find(self, arn):
        if arn not in self.connections:
            raise AwsError("ResourceNotFoundException", f"Connection {arn} does not exist")
        return self.connections[arn]

    def call(self, op, params, region):
        if op == "CreateConnection":
            name, provider = params.get("ConnectionName") or "", params.get("ProviderType")
            if not 1 <= len(name) <= 32:
                raise AwsError("InvalidInputException", "ConnectionName must be 1 to 32 characters")
            if params.get("HostArn"):  # a connection to a self-managed host needs a host; none is emulated
                raise AwsError("ResourceNotFoundException", f"Host {params['HostArn']} does not exist")
            if provider not in service_model("codeconnections").shape_for("ProviderType").enum:
                raise AwsError("InvalidInputException", f"ProviderType {provider!r} is not supported")
            # Names are not unique on AWS: a second CreateConnection with the same name makes a second connection.
            arn = f"arn:aws:codeconnections:{region}:{DEFAULT_ACCOUNT_ID}:connection/{uuid.uuid4()}"
            self.connections[arn] = {"ConnectionName": name, "ConnectionArn": arn, "ProviderType": provider,
                                     "OwnerAccountId": DEFAULT_ACCOUNT_ID, "ConnectionStatus": "PENDING"}
            self.tags[arn] = list(params.get("Tags") or [])
            return {"ConnectionArn": arn, "Tags": self.tags[arn]}
        if op == "GetConnection":
            return {"Connection": self.find(params.get("ConnectionArn"))}
        if op == "ListConnections":
            found = [c for c in self.connections.values()
                     if params.get("ProviderTypeFilter") in (None, c["ProviderType"])
                     and params.get("HostArnFilter") in (None, c.get("HostArn"))]
            start = int(params.get("NextToken") or 0)
            end = start + (params.get("MaxResults") or len(found))
            return {"Connections": found[start:end], **({"NextToken": str(end)} if end < len(found) else {})}
        if op == "DeleteConnection":
            self.find(params.get("ConnectionArn"))
            del self.connections[params["ConnectionArn"]], self.tags[params["ConnectionArn"]]
            return {}
        if op == "ListTagsForResource":
            self.find(params.get("ResourceArn"))
            return {"Tags": self.tags[params["ResourceArn"]]}
        if op == "TagResource":
            self.find(params.get("ResourceArn"))
            new = {t["Key"]: t for t in params.get("Tags") or []}
            arn = params["ResourceArn"]
            self.tags[arn] = [t for t in self.tags[arn] if t["Key"] not in new] + list(new.values())
            return {}
        if op == "UntagResource":
            self.find(params.get("ResourceArn"))
            arn = params["ResourceArn"]
            self.tags[arn] = [t for t in self.tags[arn] if t["Key"] not in (params.get("TagKeys") or [])]
            return {}
        raise AwsError("UnknownOperationException", f"CodeConnections {op} is not emulated", 404)


# --- Smithy RPC v2 CBOR <-> JSON protocol, driven by botocore's model of the service --------------------------------
def reshape(value, shape, leaf):
    """Walks `value` along `shape`, keeping only modelled members and mapping every scalar through leaf(value, type)."""
    kind = shape.type_name
    if kind == "structure":
        return {k: reshape(v, shape.members[k], leaf) for k, v in value.items() if k in shape.members and v is not None}
    if kind == "list":
        return [reshape(v, shape.member, leaf) for v in value]
    if kind == "map":
        return {k: reshape(v, shape.value, leaf) for k, v in value.items()}
    return leaf(value, kind)


def to_json(value, kind):
    """A CBOR request value as the JSON protocol writes it: timestamps as epoch seconds, blobs as base64."""
    if kind == "timestamp" and isinstance(value, datetime.datetime):
        return value.timestamp()
    if kind == "blob" and isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def to_cbor(value, kind):
    """A JSON answer value as RPC v2 CBOR writes it: timestamps as tag 1 (epoch seconds), doubles as CBOR floats
    (the Rust SDK refuses an integer where the model says double), blobs as byte strings."""
    if kind == "timestamp":
        return cbor2.CBORTag(1, parse_timestamp(value).timestamp() if isinstance(value, str) else float(value))
    if kind in ("double", "float"):
        return float(value)
    if kind == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    return value


def cbor_response(start_response, status, body, extra=()):
    headers = [("smithy-protocol", "rpc-v2-cbor"), ("Content-Length", str(len(body))), *extra]
    if body:  # an operation without output answers no body and no Content-Type
        headers.append(("Content-Type", "application/cbor"))
    start_response(f"{status} {http.HTTPStatus(status).phrase}", headers)
    return [body]


def fault_problem(body):
    """What is wrong with a `POST /_ghost/faults` body, or None."""
    if not isinstance(body.get("key"), str) or not body["key"]:
        return "need a key (the caller's access key id)"
    known = {"key", "crash_after_mutating", "crash_after_action", "crash_as", "transient_fraction", "transient_seed",
             "latency_ms", "clock_factor", "throttle_action"}
    if set(body) - known:
        return f"unknown fields {sorted(set(body) - known)}; known: {sorted(known)}"
    if "crash_after_mutating" in body and not isinstance(body["crash_after_mutating"], int):
        return "crash_after_mutating must be an integer"
    if "crash_after_action" in body and not (isinstance(body["crash_after_action"], str) and body["crash_after_action"]):
        return "crash_after_action must be an action name (CreateLoadBalancer, ...)"
    if "throttle_action" in body and not (isinstance(body["throttle_action"], str) and body["throttle_action"]):
        return "throttle_action must be an action name (CreateTargetGroup, ...)"
    if body.get("crash_as", "error") not in ("error", "drop"):
        return 'crash_as must be "error" or "drop"'
    if not 0 <= body.get("transient_fraction", 0) <= 1:
        return "transient_fraction must be between 0 and 1"
    if not isinstance(body.get("latency_ms", 0), int) or body.get("latency_ms", 0) < 0:
        return "latency_ms must be a non-negative integer"
    factor = body.get("clock_factor", 0)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 0:
        return "clock_factor must be a non-negative number"
    if len(set(body) - {"key", "transient_seed", "crash_as"}) == 0:
        return ("need at least one of crash_after_mutating, crash_after_action, transient_fraction, throttle_action, "
                "latency_ms, clock_factor")
    return None


class GhostMiddleware:
    def __init__(self, app, build):
        self.app = app
        self.build = build
        self.lock = threading.Lock()
        self.calls = []
        self.faults = {}  # access key -> the POST /_ghost/faults body, plus "seen" (mutating calls) and its "rng"
        self.efs_backup = {}  # file system id -> "ENABLED" | "DISABLED"
        self.codeconnections = CodeConnections()
        CONNECTIONS["store"] = self.codeconnections
        self.backup = AutomaticBackups()

    # --- control API -------------------------------------------------------------------------------------------
    def control(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        key = (query.get("key") or [None])[0]
        if path == "/_ghost/health":
            return self.json(start_response, 200, {"status": "ok", "moto": moto_version, "pid": os.getpid(),
                                                   "build": self.build, "clock_factor": CLOCK["factor"]})
        if path == "/_ghost/clock" and method == "GET":  # the durations a benchmark computes its bound from
            return self.json(start_response, 200, {"clock_factor": CLOCK["factor"], "aws_seconds": AWS_SECONDS})
        if path == "/_ghost/clock" and method == "POST":
            factor = json.loads(self.read_body(environ) or b"{}").get("factor")
            if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 0:
                return self.json(start_response, 400, {"error": "need {\"factor\": a non-negative number}"})
            CLOCK["factor"] = factor
            return self.json(start_response, 200, {"clock_factor": factor})
        if path == "/_ghost/calls" and method == "GET":
            with self.lock:
                calls = [c for c in self.calls if key is None or c["key"] == key]
            return self.json(start_response, 200, calls)
        if path == "/_ghost/calls/clear" and method == "POST":
            with self.lock:
                self.calls = [c for c in self.calls if key is not None and c["key"] != key]
            return self.json(start_response, 200, {"cleared": True})
        if path == "/_ghost/faults" and method == "POST":
            body = json.loads(self.read_body(environ) or b"{}")
            problem = fault_problem(body)
            if problem:
                return self.json(start_response, 400, {"error": problem})
            fault = dict(body, seen=0, rng=random.Random(body.get("transient_seed", 0)))
            with self.lock:
                self.faults[body["key"]] = fault
            return self.json(start_response, 200, {"armed": body})
        if path == "/_ghost/codedeploy/hold" and method == "POST":
            on = (query.get("on") or ["1"])[0] not in ("0", "false")
            application = (query.get("application") or [None])[0]
            with self.lock:
                if application is None:
                    CODEDEPLOY_HOLD["on"] = on
                elif on:
                    CODEDEPLOY_HOLD["applications"].add(application)
                else:
                    CODEDEPLOY_HOLD["applications"].discard(application)
            return self.json(start_response, 200, {"hold": on, "application": application})
        if path == "/_ghost/backup/run" and method == "POST":
            # The nightly job of the default EFS backup plan, now: a recovery point per file system whose
            # automatic backups are on.
            from moto.efs.models import efs_backends
            made = []
            with self.lock:
                enabled = [fs for fs, status in self.efs_backup.items() if status == "ENABLED"]
            for region, backend in efs_backends[DEFAULT_ACCOUNT_ID].items():
                for fs_id in enabled:
                    fs = backend.file_systems_by_id.get(fs_id)
                    if fs is not None:
                        made.append(self.backup.back_up(region, fs))
            return self.json(start_response, 200, {"recoveryPoints": made})
        if path == "/_ghost/rotation/run" and method == "POST":
            return self.json(start_response, 200, {"rotating": rotate_managed_secrets_now()})
        if path == "/_ghost/faults" and method == "DELETE":
            with self.lock:
                if key is None:
                    self.faults.clear()
                else:
                    self.faults.pop(key, None)
            return self.json(start_response, 200, {"cleared": True})
        if path == "/_ghost/connections/complete" and method == "POST":
            arn = (query.get("arn") or [""])[0]
            with self.lock:
                connection = self.codeconnections.connections.get(arn)
                if connection is not None:
                    connection["ConnectionStatus"] = "AVAILABLE"  # the console handshake a person would do
            if connection is None:
                return self.json(start_response, 404, {"error": f"no connection {arn}"})
            return self.json(start_response, 200, connection)
        return self.json(start_response, 404, {"error": f"no such control route {method} {path}"})

    @staticmethod
    def json(start_response, status, body, content_type="application/json", headers=()):
        data = json.dumps(body).encode()
        start_response(f"{status} {http.HTTPStatus(status).phrase}",
                       [("Content-Type", content_type), ("Content-Length", str(len(data))), *headers])
        return [data]

    @staticmethod
    def read_body(environ):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    @staticmethod
    def capture(app, environ):
        """Runs a WSGI app to completion: (status, headers, body)."""
        out = {}

        def start_response(status, headers, exc_info=None):
            out["status"], out["headers"] = int(status.split(" ", 1)[0]), headers
            return lambda data: None

        body = b"".join(app(environ, start_response))
        return out["status"], out["headers"], body

    # --- classification ----------------------------------------------------------------------------------------
    def classify(self, environ):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        m = CREDENTIAL.search(auth)
        key, region, service = m.groups() if m else ("anonymous", "us-east-1", "unknown")
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        target = environ.get("HTTP_X_AMZ_TARGET")
        ctype = environ.get("CONTENT_TYPE", "")
        protocol = "rest"
        if target:
            action, protocol = target.rsplit(".", 1)[-1], "json"
        elif CBOR_PATH.match(path):
            action, protocol = CBOR_PATH.match(path).group(2), "cbor"
        elif ctype.startswith("application/x-www-form-urlencoded"):
            form = urllib.parse.parse_qs(self.read_body(environ).decode("utf-8", "replace"))
            action, protocol = (form.get("Action") or [""])[0], "query"
        else:
            action = ""
        if not action:
            action = f"{method} {path}"
        return key, region, service, action, protocol

    # --- faults ------------------------------------------------------------------------------------------------
    def injected(self, environ, key, action, mutating, operation=None):
        """The fault this call meets, if any: "crash" (refuse), "drop" (drop unprocessed), "drop-after" (process,
        then drop), or a transient kind ("throttle", "429", "503"); and the latency to add first."""
        with self.lock:
            fault = self.faults.get(key)
            if fault is None:
                return None, 0
            latency = fault.get("latency_ms", 0) / 1000
            k, trip = fault.get("crash_after_mutating"), fault.get("crash_after_action")
            if k is not None or trip is not None:
                drop = fault.get("crash_as") == "drop"
                if fault.get("tripped") or (k is not None and fault["seen"] >= k):
                    return ("drop" if drop else "crash"), latency
                if mutating:
                    fault["seen"] += 1
                if mutating and fault["seen"] == k:
                    fault["tripped"] = True
                    if drop:
                        return "drop-after", latency
                elif trip is not None and trip in (action, operation):
                    # Killed right after the call took effect: a call AWS refused (a NotFound while an id
                    # propagates, say) changed nothing, so the process is not killed until one is made.
                    return ("drop-after-made" if drop else "trip-after-made"), latency
            if fault.get("throttle_action") is not None and fault["throttle_action"] in (action, operation):
                return "throttle", latency  # every attempt: the SDK's retries run out
            fraction = fault.get("transient_fraction", 0)
            if fraction and fault["rng"].random() < fraction:
                attempt = re.search(r"attempt=(\d+);\s*max=(\d+)", environ.get("HTTP_AMZ_SDK_REQUEST", ""))
                last = attempt is not None and int(attempt.group(1)) >= int(attempt.group(2))
                if not last:
                    kind = fault["rng"].choice(["throttle", "429", "503"])
                    # A HEAD answer has no body to carry an error code: S3 throttles HEADs as a bare 503 (SlowDown).
                    if environ.get("REQUEST_METHOD") == "HEAD":
                        kind = "503"
                    return kind, latency
            return None, latency

    def transient(self, start_response, service, protocol, kind):
        if kind == "503":
            return self.error(start_response, service, protocol, "ServiceUnavailable",
                              "injected: the service is unavailable, try again", status=503)
        if kind == "429":
            return self.error(start_response, service, protocol, "TooManyRequestsException",
                              "injected: too many requests", status=429)
        code = "RequestLimitExceeded" if service == "ec2" else "ThrottlingException"
        return self.error(start_response, service, protocol, code, "injected: rate exceeded")

    @staticmethod
    def drop(environ):
        """Closes the caller's connection without an answer, as a network failure (or a killed server) would."""
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionResetError("injected: connection dropped")

    @staticmethod
    def error(start_response, service, protocol, code, message, status=400):
        request_id = str(uuid.uuid4())
        if protocol == "cbor":
            return cbor_response(start_response, status, cbor2.dumps({"__type": code, "message": message}),
                                 [("x-amzn-RequestId", request_id)])
        if protocol == "query" and service == "ec2":
            body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                    f"<RequestID>{request_id}</RequestID></Response>").encode()
            headers = [("Content-Type", "text/xml")]
        elif protocol == "query":
            body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                    f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
            headers = [("Content-Type", "text/xml")]
        elif service == "s3":
            body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
            headers = [("Content-Type", "application/xml")]
        else:
            body = json.dumps({"__type": code, "message": message}).encode()
            headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
        headers += [("Content-Length", str(len(body))), ("x-amzn-RequestId", request_id)]
        start_response(f"{status} {http.HTTPStatus(status).phrase}", headers)
        return [body]

    # --- extensions ----------------------------------------------------------------------------------------------
    def efs_backup_policy(self, environ, start_response, fs_id, region):
        if environ["REQUEST_METHOD"] == "PUT":
            from moto.efs.models import efs_backends
            fs = efs_backends[DEFAULT_ACCOUNT_ID][region].file_systems_by_id.get(fs_id)
            try:
                efs_file_system_ready(fs)
            except IncorrectFileSystemLifeCycleState as e:
                return self.json(start_response, 409, {"ErrorCode": e.error_type, "Message": e.message},
                                 headers=[("x-amzn-ErrorType", e.error_type)])
            body = json.loads(self.read_body(environ) or b"{}")
            status = (body.get("BackupPolicy") or {}).get("Status", "ENABLED")
            with self.lock:
                self.efs_backup[fs_id] = status
        with self.lock:
            status = self.efs_backup.get(fs_id)
        if status is None:
            return self.json(start_response, 404, {"ErrorCode": "PolicyNotFound", "Message": f"no backup policy for {fs_id}"},
                             headers=[("x-amzn-ErrorType", "PolicyNotFound")])
        return self.json(start_response, 200, {"BackupPolicy": {"Status": status}})

    # CreateService members moto's create drops but its UpdateService stores (ECS API reference: CreateService;
    # DescribeServices returns each as the service was created).
    CREATE_SERVICE_KEPT = ("deploymentConfiguration", "loadBalancers", "capacityProviderStrategy",
                           "healthCheckGracePeriodSeconds")

    def ecs_create_service(self, environ, start_response):
        body = self.read_body(environ)
        status, headers, result = self.capture(self.app, environ)
        request = json.loads(body or b"{}")
        # The CreateService fields moto 5.2.5 drops and AWS keeps (DescribeServices returns them).
        kept = {k: request[k] for k in self.CREATE_SERVICE_KEPT if request.get(k) is not None}
        if status == 200 and kept:
            update = {"cluster": request.get("cluster", "default"), "service": request["serviceName"], **kept}
            data = json.dumps(update).encode()
            inner = dict(environ)
            inner["HTTP_X_AMZ_TARGET"] = "AmazonEC2ContainerServiceV20141113.UpdateService"
            inner["CONTENT_LENGTH"] = str(len(data))
            inner["wsgi.input"] = io.BytesIO(data)
            try:
                result = json.dumps({"service": json.loads(self.capture(self.app, inner)[2])["service"]}).encode()
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(result))))
            except (ValueError, KeyError):
                pass  # keep moto's own answer
        start_response(f"{status} {http.HTTPStatus(status).phrase}", headers)
        return [result]

    def codeconnections_json(self, environ, start_response, action, region):
        try:
            with self.lock:
                result = self.codeconnections.call(action, json.loads(self.read_body(environ) or b"{}"), region)
        except AwsError as e:
            return self.json(start_response, e.status, {"__type": e.code, "message": e.message},
                             "application/x-amz-json-1.0", [("x-amzn-ErrorType", e.code)])
        return self.json(start_response, 200, result, "application/x-amz-json-1.0")

    def cbor_bridge(self, environ, start_response, service_id, action, region, record):
        """Smithy RPC v2 CBOR (what the Rust SDK speaks for CloudWatch and CodeConnections): the request becomes the
        service's JSON-protocol request, served by moto (or by us), and the answer goes back as CBOR."""
        name = CBOR_SERVICES.get(service_id)
        model = service_model(name) if name else None
        if model is None or action not in model.operation_names:
            return cbor_response(start_response, 404, cbor2.dumps(
                {"__type": "UnknownOperationException", "message": f"{service_id}.{action} is not served here"}))
        operation = model.operation_model(action)
        raw = self.read_body(environ)
        encoding = environ.pop("HTTP_CONTENT_ENCODING", "")  # the inner JSON request is not compressed
        try:
            if "gzip" in encoding:  # the SDK gzips large PutMetricData bodies (Smithy's requestCompression)
                raw = gzip.decompress(raw)
            params = reshape(cbor2.loads(raw) if raw else {}, operation.input_shape, to_json) \
                if operation.input_shape else {}
        except (cbor2.CBORDecodeError, OSError, AttributeError, TypeError) as e:
            return cbor_response(start_response, 400, cbor2.dumps({"__type": "SerializationException",
                                                                   "message": f"bad CBOR body: {e}"}))
        data = json.dumps(params).encode()
        inner = dict(environ, PATH_INFO="/", QUERY_STRING="", REQUEST_METHOD="POST", CONTENT_LENGTH=str(len(data)),
                     CONTENT_TYPE=f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}",
                     HTTP_X_AMZ_TARGET=f"{model.metadata['targetPrefix']}.{action}")
        inner["wsgi.input"] = io.BytesIO(data)
        status, headers, body = self.capture(lambda e, s: self.route(e, s, region, record), inner)
        answer = json.loads(body or b"{}")
        passed = [(k, v) for k, v in headers if k.lower() in ("x-amzn-requestid", "x-amzn-query-error")]
        if status >= 300:
            error = {"__type": answer.get("__type", "InternalFailure"),
                     "message": answer.get("message") or answer.get("Message") or ""}
            return cbor_response(start_response, status, cbor2.dumps(error), passed)
        out = b"" if operation.output_shape is None else cbor2.dumps(reshape(answer, operation.output_shape, to_cbor))
        return cbor_response(start_response, status, out, passed)

    # --- WSGI --------------------------------------------------------------------------------------------------
    def validate(self, environ, record):
        """(code, message) when the request breaks its service model's constraints (see validation_problem)."""
        if not VALIDATION["on"]:
            return None
        model = model_for_signing_name(record["service"])
        if model is None:
            return None
        protocol = model.metadata.get("protocol")
        target = environ.get("HTTP_X_AMZ_TARGET") or ""
        try:
            if target and protocol in ("json", "smithy-rpc-v2-cbor"):
                action, params = target.rsplit(".", 1)[-1], json.loads(self.read_body(environ) or b"{}")
            elif protocol in ("query", "ec2") and environ.get("CONTENT_TYPE", "").startswith(
                    "application/x-www-form-urlencoded"):
                form = urllib.parse.parse_qs(self.read_body(environ).decode("utf-8", "replace"), keep_blank_values=True)
                flat = {k: v[0] for k, v in form.items()}
                action = flat.get("Action", "")
                if action not in model.operation_names or model.operation_model(action).input_shape is None:
                    return None
                params = unflatten(model.operation_model(action).input_shape, "", flat, protocol == "ec2")
            elif protocol == "rest-json":
                action, params = self.rest_json_params(environ, model)
                if action is None:
                    return None
            elif protocol == "rest-xml":
                action, params = self.rest_xml_params(environ, model)
                if action is None:
                    return None
            else:
                return None
        except ValueError:
            return None
        params = params if isinstance(params, dict) else {}
        problem = validation_problem(model, action, params)
        if problem is not None:
            # EC2 names a missing required parameter MissingParameter (EC2 API reference, "Error codes").
            missing = record["service"] == "ec2" and "Member must not be null" in problem
            return ("MissingParameter" if missing else validation_code(model, record["service"])), problem
        hand = HAND_RULES.get((record["service"], action))
        return hand(params) if hand is not None else None

    def rest_params(self, environ, model, from_body):
        """(operation, its input as the model names it) of a REST request: members from the URI's labels, the query
        string and the headers, each where the model's `location` puts it, and `from_body(input shape, raw body)`'s
        members from the body."""
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        # The raw path: a label holding a slash (a vault name, an ARN) arrives percent-encoded, one segment.
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        method, path = environ.get("REQUEST_METHOD", "GET"), raw.split("?")[0] if raw else environ.get("PATH_INFO", "/")
        action = rest_operation(model.service_name, method, path, frozenset(query))
        if action is None or model.operation_model(action).input_shape is None:
            return None, None
        operation = model.operation_model(action)
        template = operation.http.get("requestUri", "/").partition("?")[0]
        regex = re.sub(r"\\\{([^}+]+)\\\+\\\}", lambda m: f"(?P<{m.group(1)}>.+)", re.escape(template))
        regex = re.sub(r"\\\{([^}+]+)\\\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", regex)
        labels = re.fullmatch(regex + "/?", path)
        params = {}
        for name, member in operation.input_shape.members.items():
            where, wire = member.serialization.get("location"), member.serialization.get("name", name)
            if where == "uri" and labels is not None and wire in labels.groupdict():
                params[name] = urllib.parse.unquote(labels.group(wire))
            elif where == "querystring" and wire in query:
                params[name] = query[wire] if member.type_name == "list" else query[wire][0]
            elif where == "header":
                value = environ.get("HTTP_" + wire.upper().replace("-", "_"))
                if value is not None:
                    params[name] = value
        params.update(from_body(operation.input_shape, self.read_body(environ)))
        return action, params

    def rest_json_params(self, environ, model):
        """A REST-JSON request's input (EFS): the body's members are the JSON object's."""
        def from_body(shape, raw):
            body = json.loads(raw) if raw else {}
            return {name: body[m.serialization.get("name", name)] for name, m in shape.members.items()
                    if m.serialization.get("location") is None and isinstance(body, dict)
                    and m.serialization.get("name", name) in body}
        return self.rest_params(environ, model, from_body)

    def rest_xml_params(self, environ, model):
        """A REST-XML request's input (S3, path-style): the XML payload read through the payload member's shape."""
        def from_body(shape, raw):
            payload = shape.serialization.get("payload")
            if not (payload and raw):
                return {}
            if shape.members[payload].type_name in ("string", "blob"):  # a bucket policy, an object's body
                return {payload: raw.decode("utf-8", "replace")}
            if shape.members[payload].type_name != "structure":
                return {}
            try:
                import xml.etree.ElementTree as ET
                return {payload: xml_to_shape(shape.members[payload], ET.fromstring(raw))}
            except Exception:  # not XML: S3 answers MalformedXML itself, as moto does
                return {}
        return self.rest_params(environ, model, from_body)

    def route(self, environ, start_response, region, record):
        """A JSON, query or REST request: one of our extensions, or moto."""
        path = environ.get("PATH_INFO", "")
        target = environ.get("HTTP_X_AMZ_TARGET") or ""
        refused = self.validate(environ, record)
        if refused is not None:
            record["status"], record["refused"] = 400, refused[1]
            protocol = model_for_signing_name(record["service"]).metadata.get("protocol")
            kind = "json" if target or protocol == "rest-json" else protocol if protocol == "rest-xml" else "query"
            return self.error(start_response, record["service"], kind, refused[0], refused[1])
        m = EFS_BACKUP_POLICY.match(path)
        if m and record["service"] == "elasticfilesystem":
            record["action"] = "PutBackupPolicy" if environ["REQUEST_METHOD"] == "PUT" else "DescribeBackupPolicy"
            record["mutating"] = environ["REQUEST_METHOD"] == "PUT"
            return self.efs_backup_policy(environ, start_response, m.group(1), region)
        if record["service"] == "backup":
            action, params = AutomaticBackups.operation(environ, self.read_body(environ))
            if action is not None:
                record["action"], record["mutating"] = action, not action.startswith(("List", "Describe", "Get"))
                status, answer = self.backup.call(action, params or {}, region)
                if status != 200:
                    return self.json(start_response, status, answer, headers=[("x-amzn-ErrorType", answer["code"])])
                return self.json(start_response, 200, answer)
        if target.endswith(".CreateService") and record["service"] == "ecs":
            return self.ecs_create_service(environ, start_response)
        if target.rsplit(".", 1)[0].endswith(CODECONNECTIONS_TARGET):
            return self.codeconnections_json(environ, start_response, target.rsplit(".", 1)[-1], region)
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if record["service"] == "s3" and environ["REQUEST_METHOD"] == "GET" and "versioning" in query:
            return self.s3_get_bucket_versioning(environ, start_response)
        return self.app(environ, start_response)

    def s3_get_bucket_versioning(self, environ, start_response):
        """AWS answers GetBucketVersioning with a `VersioningConfiguration` root; moto names it
        `GetBucketVersioningResponse`, which strict parsers (the Rust SDK) reject. Same content, AWS's root."""
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        if captured["status"].startswith("200"):
            body = body.replace(b"GetBucketVersioningResponse", b"VersioningConfiguration")
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(captured["status"], headers)
        return [body]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_ghost/"):
            return self.control(environ, start_response)
        if path.startswith("/moto-api"):
            if path.rstrip("/") == "/moto-api/reset":
                with self.lock:
                    self.calls.clear()
                    self.faults.clear()
                    self.efs_backup.clear()
                    self.codeconnections = CodeConnections()
                    CONNECTIONS["store"] = self.codeconnections
                    self.backup = AutomaticBackups()
                    CODEDEPLOY_HOLD["on"] = False
                with LATER_LOCK:
                    LATER.clear()
                    EC2_BORN.clear()
            return self.app(environ, start_response)
        run_due()

        key, region, service, action, protocol = self.classify(environ)
        mutating = not is_read(action)
        record = {"key": key, "service": service, "action": action, "mutating": mutating, "status": 0,
                  "at": time.time()}
        if protocol == "rest" and model_for_signing_name(service) is not None:
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            record["operation"] = rest_operation(model_for_signing_name(service).service_name,
                                                 environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/"),
                                                 frozenset(query))
        # Refused before anything changes, so neither a write for the recorder nor one the fault front counts:
        # the number of writes a run makes stays the same however often it meets a propagating id.
        unseen = None
        if service == "ec2" and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            form = urllib.parse.parse_qs(self.read_body(environ).decode("utf-8", "replace"), keep_blank_values=True)
            unseen = ec2_unseen({k: v[0] for k, v in form.items()})
        if unseen is not None:
            record.update(mutating=False, status=400, refused=unseen[1])
            with self.lock:
                self.calls.append(record)
            return self.error(start_response, "ec2", protocol, unseen[0], unseen[1])
        with self.lock:
            self.calls.append(record)
        fault, latency = self.injected(environ, key, action, mutating, record.get("operation"))
        with self.lock:
            CALLER.factor = self.faults.get(key, {}).get("clock_factor")
        if latency:
            time.sleep(latency)
        if fault is not None:
            record["injected"] = fault.replace("drop-after", "drop")
        if fault == "crash":
            record["status"] = 400
            return self.error(start_response, service, protocol, "InjectedCrash",
                              "the emulator's fault injection stopped this caller (crash after k mutating calls)")
        if fault == "drop":
            self.drop(environ)
        if fault in ("throttle", "429", "503"):
            record["status"] = 400 if fault == "throttle" else int(fault)
            return self.transient(start_response, service, protocol, fault)

        def recording_start_response(status, headers, exc_info=None):
            record["status"] = int(status.split(" ", 1)[0])
            record["end"] = time.time()  # with "at": how calls overlap, for the benchmark's critical path
            return start_response(status, headers, exc_info)

        if fault in ("drop-after-made", "trip-after-made"):
            status, headers, body = self.capture(
                lambda e, r: self.forward(e, r, path, action, region, protocol, record), environ)
            record["status"], record["end"] = status, time.time()
            if status < 300:
                with self.lock:
                    self.faults[key]["tripped"] = True
                record.pop("injected", None)  # this call itself was answered; the calls after it meet the crash
                if fault == "drop-after-made":
                    record["injected"] = "drop"
                    self.drop(environ)
            else:
                record.pop("injected", None)
            start_response(f"{status} {http.HTTPStatus(status).phrase}", headers)
            return [body]
        if fault == "drop-after":
            # Made, then lost: the change happens in moto, the answer never reaches the caller.
            list(self.forward(environ, lambda status, headers, exc_info=None: record.update(
                status=int(status.split(" ", 1)[0])), path, action, region, protocol, record))
            self.drop(environ)
        return self.forward(environ, recording_start_response, path, action, region, protocol, record)

    def forward(self, environ, start_response, path, action, region, protocol, record):
        if protocol == "cbor":
            return self.cbor_bridge(environ, start_response, CBOR_PATH.match(path).group(1), action, region, record)
        return self.route(environ, start_response, region, record)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--build", default="dev", help="content hash of this launcher, reported by /_ghost/health")
    parser.add_argument("--clock-factor", type=float,
                        default=float(os.environ.get("GHOST_EMULATOR_CLOCK_FACTOR", DEFAULT_CLOCK_FACTOR)),
                        help="AWS's durations times this (0: everything ready at once)")
    parser.add_argument("--rule-table", action="store_true",
                        help="print the rule table of operations.txt (localstack/rules.md) and exit")
    args = parser.parse_args()
    if args.rule_table:
        here = os.path.dirname(os.path.abspath(__file__))
        sys.stdout.write(rule_table(read_operations(os.path.join(here, "operations.txt"))))
        return
    if args.clock_factor < 0:
        sys.exit("--clock-factor must be a non-negative number")
    CLOCK["factor"] = args.clock_factor
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("refusing to bind the emulator to a non-loopback address")
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, GhostMiddleware(app, args.build), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
