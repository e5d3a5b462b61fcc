"""Tests of the emulator's extensions (launcher.py): each one created, read back equal, updated, read back, deleted
and then not found, against a launcher this suite starts on a free port of its own (never 4566).

Run with the emulator venv's python: `python localstack/test_launcher.py` (`cargo test -p ghost-emulator --test
launcher` does that). boto3 speaks JSON/query to every service; the CBOR bridge is exercised with raw requests.
"""

import datetime
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid

import boto3
import botocore.config
import cbor2
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "eu-west-2"
ACCOUNT = "123456789012"
KEY = "AKIDLAUNCHERTEST"
URL = ""
PROCESS = None


def free_port():
    for port in range(4610, 4700):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 4610-4699")


def setUpModule():
    global URL, PROCESS
    port = int(os.environ.get("GHOST_TEST_PORT") or free_port())
    URL = f"http://127.0.0.1:{port}"
    workdir = tempfile.mkdtemp(prefix="ghost-launcher-test-")
    log = os.path.join(workdir, "launcher.log")
    with open(log, "wb") as out:
        PROCESS = subprocess.Popen([sys.executable, os.path.join(HERE, "launcher.py"), "--port", str(port),
                                    "--clock-factor", "0.01"],
                                   cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline and PROCESS.poll() is None:
        try:
            health = json.loads(urllib.request.urlopen(f"{URL}/_ghost/health", timeout=1).read())
            if health["pid"] == PROCESS.pid:  # ours, not whatever else listens there
                return
        except OSError:
            pass
        time.sleep(0.2)
    PROCESS.kill()
    raise RuntimeError(f"the launcher did not start on {URL}; see {log}")


def tearDownModule():
    PROCESS.terminate()
    try:
        PROCESS.wait(10)
    except subprocess.TimeoutExpired:
        PROCESS.kill()


EC2_PROPAGATION_S = 2  # launcher.AWS_SECONDS["ec2/id-propagation"]


def client(service, key=KEY):
    return boto3.client(service, endpoint_url=URL, region_name=REGION, aws_access_key_id=key,
                        aws_secret_access_key="secret")


def post(path, data=b"", headers=None):
    """(status, headers, body) of a raw POST; HTTP errors are answers too."""
    request = urllib.request.Request(f"{URL}{path}", data=data, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def auth(service, key=KEY):
    # moto does not check signatures; the credential scope names the key, region and service, as SigV4 would.
    return f"AWS4-HMAC-SHA256 Credential={key}/20250101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0"


def cbor(service_id, op, body, signing="monitoring", key=KEY):
    """A Smithy RPC v2 CBOR call, as the Rust SDK makes it: (status, headers, decoded body or None)."""
    data = cbor2.dumps(body) if body is not None else b""
    headers = {"smithy-protocol": "rpc-v2-cbor", "Accept": "application/cbor", "Authorization": auth(signing, key)}
    if data:
        headers["Content-Type"] = "application/cbor"
    status, headers, raw = post(f"/service/{service_id}/operation/{op}", data, headers)
    return status, headers, (cbor2.loads(raw) if raw else None)


def cloudwatch(op, body=None, key=KEY):
    return cbor("GraniteServiceVersion20100801", op, body, key=key)


AWS_INSTALL_S = 120  # launcher AWS_SECONDS["codedeploy/install"]


def error_code(ctx):
    return ctx.exception.response["Error"]["Code"]


def states_until(read, final, within):
    """The distinct states `read()` reports, in order, polled every 50 ms until it reports `final` (or `within`
    seconds pass): [(seconds since the first read, state), ...]."""
    start, seen = time.time(), []
    while True:
        state = read()
        if not seen or seen[-1][1] != state:
            seen.append((round(time.time() - start, 2), state))
        if state == final or time.time() - start > within:
            return seen
        time.sleep(0.05)


def service_role(name, service):
    """A role `service` may assume, made once and waited on until IAM has propagated it (see IamPropagation)."""
    iam = client("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    try:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        time.sleep(10 * 0.01 + 0.1)  # the launcher's default clock factor
    except ClientError:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    return arn


class CodeBuild(unittest.TestCase):
    def test_project_create_read_update_delete(self):
        cb = client("codebuild")
        role = service_role("cb", "codebuild.amazonaws.com")
        service_role("cb2", "codebuild.amazonaws.com")
        spec = {"name": "ghost-build", "description": "builds",
                "source": {"type": "CODEPIPELINE", "buildspec": "version: 0.2\n"},  # no location, as AWS allows
                "artifacts": {"type": "CODEPIPELINE"},
                "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                                "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": True,
                                "environmentVariables": [{"name": "A", "value": "b", "type": "PLAINTEXT"}]},
                "serviceRole": role, "timeoutInMinutes": 20,
                "logsConfig": {"cloudWatchLogs": {"status": "ENABLED", "groupName": "/ghost/build"}},
                "tags": [{"key": "ghost:stack", "value": "t"}]}
        cb.create_project(**spec)
        project = cb.batch_get_projects(names=["ghost-build"])["projects"][0]
        for field in ("description", "source", "artifacts", "environment", "serviceRole", "timeoutInMinutes",
                      "logsConfig", "tags"):
            self.assertEqual(project[field], spec[field], field)
        self.assertEqual(project["queuedTimeoutInMinutes"], 480)  # AWS's default
        self.assertIn("lastModified", project)

        cb.create_project(**{k: v for k, v in spec.items() if k != "timeoutInMinutes"} | {"name": "ghost-defaults"})
        self.assertEqual(cb.batch_get_projects(names=["ghost-defaults"])["projects"][0]["timeoutInMinutes"], 60)

        environment = {**spec["environment"], "privilegedMode": False, "image": "aws/codebuild/standard:8.0",
                       "computeType": "BUILD_GENERAL1_MEDIUM"}
        updated = cb.update_project(name="ghost-build", environment=environment, timeoutInMinutes=30,
                                    logsConfig={"cloudWatchLogs": {"status": "DISABLED"}},
                                    tags=[{"key": "ghost:stack", "value": "u"}], serviceRole=f"{role}2",
                                    badgeEnabled=True, description="rebuilt")["project"]
        again = cb.batch_get_projects(names=["ghost-build"])["projects"][0]
        self.assertEqual(updated, again)
        self.assertEqual(again["environment"], environment)
        self.assertEqual((again["timeoutInMinutes"], again["serviceRole"], again["description"]),
                         (30, f"{role}2", "rebuilt"))
        self.assertEqual(again["logsConfig"], {"cloudWatchLogs": {"status": "DISABLED"}})
        self.assertEqual(again["tags"], [{"key": "ghost:stack", "value": "u"}])
        self.assertTrue(again["badge"]["badgeEnabled"])
        self.assertEqual(again["source"], spec["source"])  # untouched fields stay

        with self.assertRaises(ClientError) as ctx:
            cb.update_project(name="nope", timeoutInMinutes=5)
        self.assertEqual(error_code(ctx), "ResourceNotFoundException")
        with self.assertRaises(ClientError) as ctx:  # S3 artifacts still need a location, as on AWS
            cb.update_project(name="ghost-build", artifacts={"type": "S3"})
        self.assertEqual(error_code(ctx), "InvalidInputException")

        cb.delete_project(name="ghost-build")
        self.assertEqual(cb.batch_get_projects(names=["ghost-build"])["projects"], [])
        with self.assertRaises(ClientError) as ctx:
            cb.update_project(name="ghost-build", timeoutInMinutes=5)
        self.assertEqual(error_code(ctx), "ResourceNotFoundException")


class CodeDeploy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for name in ("cd", "cd2"):
            service_role(name, "codedeploy.amazonaws.com")

    GROUP = {
        "serviceRoleArn": f"arn:aws:iam::{ACCOUNT}:role/cd", "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}},
        "loadBalancerInfo": {"targetGroupPairInfoList": [{
            "targetGroups": [{"name": "tg-blue"}, {"name": "tg-green"}],
            "prodTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:eu-west-2:123456789012:listener/a"]},
            "testTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:eu-west-2:123456789012:listener/b"]}}]},
        "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
        "alarmConfiguration": {"enabled": True, "ignorePollAlarmFailure": False, "alarms": [{"name": "ghost-5xx"}]},
        "ecsServices": [{"serviceName": "ghost", "clusterName": "ghost"}],
    }

    def assert_group(self, info, expected):
        for field, value in expected.items():
            self.assertEqual(info[field], value, field)
        self.assertEqual(info["computePlatform"], "ECS")

    def test_group_create_read_update_stop_delete(self):
        cd = client("codedeploy")
        cd.create_application(applicationName="ghost-app", computePlatform="ECS")
        cd.create_deployment_group(applicationName="ghost-app", deploymentGroupName="ghost-dg",
                                   tags=[{"Key": "ghost:stack", "Value": "t"}], **self.GROUP)
        self.assert_group(cd.get_deployment_group(applicationName="ghost-app", deploymentGroupName="ghost-dg")
                          ["deploymentGroupInfo"], self.GROUP)

        changed = {"blueGreenDeploymentConfiguration": {
                       "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE",
                                                                     "terminationWaitTimeInMinutes": 15},
                       "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}},
                   "alarmConfiguration": {"enabled": False, "ignorePollAlarmFailure": True, "alarms": []},
                   "autoRollbackConfiguration": {"enabled": False, "events": []},
                   "serviceRoleArn": f"arn:aws:iam::{ACCOUNT}:role/cd2",
                   "deploymentConfigName": "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"}
        answer = cd.update_deployment_group(applicationName="ghost-app", currentDeploymentGroupName="ghost-dg",
                                            newDeploymentGroupName="ghost-dg2", **changed)
        self.assertNotIn("hooksNotCleanedUp", answer)  # ECS: {}
        self.assert_group(cd.get_deployment_group(applicationName="ghost-app", deploymentGroupName="ghost-dg2")
                          ["deploymentGroupInfo"], {**self.GROUP, **changed})
        with self.assertRaises(ClientError) as ctx:
            cd.get_deployment_group(applicationName="ghost-app", deploymentGroupName="ghost-dg")
        self.assertEqual(error_code(ctx), "DeploymentGroupDoesNotExistException")
        self.assertEqual(cd.list_deployment_groups(applicationName="ghost-app")["deploymentGroups"], ["ghost-dg2"])
        arn = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:ghost-app/ghost-dg2"
        self.assertEqual(cd.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "ghost:stack", "Value": "t"}])
        with self.assertRaises(ClientError) as ctx:
            cd.update_deployment_group(applicationName="ghost-app", currentDeploymentGroupName="nope",
                                       serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/cd")
        self.assertEqual(error_code(ctx), "DeploymentGroupDoesNotExistException")

        revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}}
        # A hold of another application's deployments leaves this one's alone (it reaches its termination wait);
        # a hold of its own keeps it before the shift.
        shifted = lambda d: cd.get_deployment(deploymentId=d)["deploymentInfo"]["instanceTerminationWaitTimeStarted"]
        post("/_ghost/codedeploy/hold?on=1&application=other-app")
        free = cd.create_deployment(applicationName="ghost-app", deploymentGroupName="ghost-dg2",
                                    revision=revision)["deploymentId"]
        self.assertEqual(cd.get_deployment(deploymentId=free)["deploymentInfo"]["status"], "InProgress")
        self.assertEqual(states_until(lambda: shifted(free), True, 3)[-1][1], True)
        post("/_ghost/codedeploy/hold?on=0&application=other-app")
        post("/_ghost/codedeploy/hold?on=1&application=ghost-app")
        held = cd.create_deployment(applicationName="ghost-app", deploymentGroupName="ghost-dg2",
                                    revision=revision)["deploymentId"]
        post("/_ghost/codedeploy/hold?on=0&application=ghost-app")
        time.sleep(AWS_INSTALL_S * 0.01 + 0.2)
        self.assertEqual(cd.get_deployment(deploymentId=held)["deploymentInfo"]["status"], "InProgress")
        self.assertFalse(shifted(held))
        cd.stop_deployment(deploymentId=free, autoRollbackEnabled=False)
        cd.stop_deployment(deploymentId=held, autoRollbackEnabled=True)
        post("/_ghost/codedeploy/hold?on=1")
        deployment = cd.create_deployment(applicationName="ghost-app", deploymentGroupName="ghost-dg2",
                                          revision=revision)["deploymentId"]
        post("/_ghost/codedeploy/hold?on=0")
        self.assertEqual(cd.get_deployment(deploymentId=deployment)["deploymentInfo"]["status"], "InProgress")
        stopped = cd.stop_deployment(deploymentId=deployment, autoRollbackEnabled=False)
        self.assertEqual(stopped["status"], "Succeeded")
        self.assertTrue(stopped["statusMessage"])
        self.assertEqual(cd.get_deployment(deploymentId=deployment)["deploymentInfo"]["status"], "Stopped")
        with self.assertRaises(ClientError) as ctx:
            cd.stop_deployment(deploymentId=deployment)
        self.assertEqual(error_code(ctx), "DeploymentAlreadyCompletedException")
        with self.assertRaises(ClientError) as ctx:
            cd.stop_deployment(deploymentId=str(uuid.uuid4()))
        self.assertEqual(error_code(ctx), "DeploymentDoesNotExistException")

        self.assertEqual(cd.delete_deployment_group(applicationName="ghost-app", deploymentGroupName="ghost-dg2")
                         ["hooksNotCleanedUp"], [])
        with self.assertRaises(ClientError) as ctx:
            cd.get_deployment_group(applicationName="ghost-app", deploymentGroupName="ghost-dg2")
        self.assertEqual(error_code(ctx), "DeploymentGroupDoesNotExistException")
        self.assertEqual(cd.list_deployment_groups(applicationName="ghost-app")["deploymentGroups"], [])
        self.assertEqual(cd.list_tags_for_resource(ResourceArn=arn)["Tags"], [])
        cd.delete_deployment_group(applicationName="ghost-app", deploymentGroupName="ghost-dg2")  # idempotent

        cd.create_deployment_group(applicationName="ghost-app", deploymentGroupName="ghost-dg3", **self.GROUP)
        cd.delete_application(applicationName="ghost-app")
        for call in (lambda: cd.get_application(applicationName="ghost-app"),
                     lambda: cd.list_deployment_groups(applicationName="ghost-app"),
                     lambda: cd.get_deployment_group(applicationName="ghost-app", deploymentGroupName="ghost-dg3")):
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertEqual(error_code(ctx), "ApplicationDoesNotExistException")
        cd.delete_application(applicationName="ghost-app")  # idempotent
        # A new application of the same name starts without the old groups.
        cd.create_application(applicationName="ghost-app", computePlatform="ECS")
        self.assertEqual(cd.list_deployment_groups(applicationName="ghost-app")["deploymentGroups"], [])
        cd.delete_application(applicationName="ghost-app")

    def test_server_group_update_reports_hooks(self):
        cd = client("codedeploy")
        cd.create_application(applicationName="ghost-server", computePlatform="Server")
        cd.create_deployment_group(applicationName="ghost-server", deploymentGroupName="g",
                                   serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/cd")
        answer = cd.update_deployment_group(applicationName="ghost-server", currentDeploymentGroupName="g",
                                            autoScalingGroups=["asg"])
        self.assertEqual(answer["hooksNotCleanedUp"], [])
        info = cd.get_deployment_group(applicationName="ghost-server", deploymentGroupName="g")["deploymentGroupInfo"]
        self.assertEqual(info["autoScalingGroups"], [{"name": "asg"}])
        self.assertEqual(info["alarmConfiguration"], {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []})
        cd.delete_application(applicationName="ghost-server")


class CodePipeline(unittest.TestCase):
    def pipeline(self, name):
        source = {"name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "version": "1",
                                                     "provider": "CodeStarSourceConnection"},
                  "outputArtifacts": [{"name": "src"}], "runOrder": 1, "inputArtifacts": [],
                  "configuration": {"ConnectionArn": "arn:aws:codeconnections:eu-west-2:123456789012:connection/x",
                                    "FullRepositoryId": "me/blog", "BranchName": "main"}}
        build = {"name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild",
                                                   "version": "1"},
                 "inputArtifacts": [{"name": "src"}], "outputArtifacts": [], "runOrder": 1,
                 "configuration": {"ProjectName": "ghost-build"}}
        return {"name": name, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ghost-pipeline",
                "artifactStore": {"type": "S3", "location": "bucket"}, "pipelineType": "V2", "executionMode": "QUEUED",
                "variables": [{"name": "IMAGE_TAG", "defaultValue": "latest", "description": "tag"}],
                "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {
                    "sourceActionName": "Source", "push": [{"branches": {"includes": ["main"]}}]}}],
                "stages": [{"name": "Source", "actions": [source]}, {"name": "Build", "actions": [build]}]}

    @classmethod
    def setUpClass(cls):
        service_role("ghost-pipeline", "codepipeline.amazonaws.com")

    def test_pipeline_round_trip_state_stop_delete(self):
        cp = client("codepipeline")
        spec = self.pipeline("ghost-pipe")
        cp.create_pipeline(pipeline=spec)
        got = cp.get_pipeline(name="ghost-pipe")
        self.assertEqual(got["pipeline"], {**spec, "version": 1})
        self.assertIsInstance(got["metadata"]["created"], datetime.datetime)
        # The JSON protocol's timestamps are epoch seconds (the Rust SDK accepts nothing else).
        status, _, raw = post("/", json.dumps({"name": "ghost-pipe"}).encode(), {
            "X-Amz-Target": "CodePipeline_20150709.GetPipeline", "Content-Type": "application/x-amz-json-1.1",
            "Authorization": auth("codepipeline")})
        self.assertEqual(status, 200)
        self.assertIsInstance(json.loads(raw)["metadata"]["created"], (int, float))

        state = cp.get_pipeline_state(name="ghost-pipe")
        self.assertEqual((state["pipelineName"], state["pipelineVersion"]), ("ghost-pipe", 1))
        self.assertEqual([(s["stageName"], [a["actionName"] for a in s["actionStates"]]) for s in state["stageStates"]],
                         [("Source", ["Source"]), ("Build", ["Build"])])
        self.assertNotIn("latestExecution", state["stageStates"][1], "the creation's execution is at Source")
        self.assertIsInstance(state["created"], datetime.datetime)

        execution = cp.start_pipeline_execution(name="ghost-pipe")["pipelineExecutionId"]
        latest = cp.get_pipeline_state(name="ghost-pipe")["stageStates"][0]["latestExecution"]
        self.assertEqual((latest["pipelineExecutionId"], latest["status"]), (execution, "InProgress"))
        self.assertEqual(cp.stop_pipeline_execution(pipelineName="ghost-pipe", pipelineExecutionId=execution,
                                                    abandon=True, reason="test")["pipelineExecutionId"], execution)
        self.assertEqual(cp.get_pipeline_execution(pipelineName="ghost-pipe", pipelineExecutionId=execution)
                         ["pipelineExecution"]["status"], "Stopped")
        self.assertEqual(cp.get_pipeline_state(name="ghost-pipe")["stageStates"][0]["latestExecution"]["status"],
                         "Stopped")
        summary = cp.list_pipeline_executions(pipelineName="ghost-pipe")["pipelineExecutionSummaries"][0]
        self.assertIsInstance(summary["startTime"], datetime.datetime)
        with self.assertRaises(ClientError) as ctx:
            cp.stop_pipeline_execution(pipelineName="ghost-pipe", pipelineExecutionId=execution)
        self.assertEqual(error_code(ctx), "PipelineExecutionNotStoppableException")
        with self.assertRaises(ClientError) as ctx:
            cp.stop_pipeline_execution(pipelineName="ghost-pipe", pipelineExecutionId=str(uuid.uuid4()))
        self.assertEqual(error_code(ctx), "PipelineExecutionNotFoundException")

        spec["executionMode"] = "SUPERSEDED"
        spec["variables"] = []
        self.assertEqual(cp.update_pipeline(pipeline=spec)["pipeline"]["version"], 2)
        self.assertEqual(cp.get_pipeline(name="ghost-pipe")["pipeline"], {**spec, "version": 2})
        self.assertEqual(cp.get_pipeline_state(name="ghost-pipe")["pipelineVersion"], 2)

        cp.delete_pipeline(name="ghost-pipe")
        for call in (lambda: cp.get_pipeline_state(name="ghost-pipe"), lambda: cp.get_pipeline(name="ghost-pipe")):
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertEqual(error_code(ctx), "PipelineNotFoundException")


class PipelineRuns(unittest.TestCase):
    """Executions run stage by stage on the clock: the creation starts one, a source with nothing to fetch fails
    it, a build takes its time, an approval waits; CodeCommit commits (PutFile, GetBranch) give a source."""

    FACTOR = 0.01

    @classmethod
    def setUpClass(cls):
        service_role("ghost-runs", "codepipeline.amazonaws.com")

    def setUp(self):
        self.key = f"AKIDRUNS{uuid.uuid4().hex[:8].upper()}"
        self.assertEqual(arm({"key": self.key, "clock_factor": self.FACTOR})[0], 200)
        self.cp, self.cc = client("codepipeline", self.key), client("codecommit", self.key)

    def pipeline(self, name, repo, approval=False):
        source = {"name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "version": "1",
                                                     "provider": "CodeCommit"},
                  "outputArtifacts": [{"name": "src"}], "runOrder": 1, "inputArtifacts": [],
                  "configuration": {"RepositoryName": repo, "BranchName": "main", "PollForSourceChanges": "false"}}
        build = {"name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild",
                                                   "version": "1"},
                 "inputArtifacts": [{"name": "src"}], "outputArtifacts": [], "runOrder": 1,
                 "configuration": {"ProjectName": "ghost-build"}}
        approve = {"name": "Approve", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual",
                                                       "version": "1"}, "runOrder": 1}
        stages = [{"name": "Source", "actions": [source]}, {"name": "Build", "actions": [build]}]
        stages += [{"name": "Approve", "actions": [approve]}] if approval else []
        return {"name": name, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ghost-runs",
                "artifactStore": {"type": "S3", "location": "bucket"}, "pipelineType": "V2",
                "executionMode": "SUPERSEDED", "stages": stages}

    def status(self, name, execution):
        return self.cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution)[
            "pipelineExecution"]["status"]

    def test_codecommit_commits_make_a_branch_and_its_head(self):
        repo = f"runs-{uuid.uuid4().hex[:6]}"
        self.cc.create_repository(repositoryName=repo)
        self.assertNotIn("defaultBranch", self.cc.get_repository(repositoryName=repo)["repositoryMetadata"])
        with self.assertRaises(ClientError) as ctx:
            self.cc.get_branch(repositoryName=repo, branchName="main")
        self.assertEqual(error_code(ctx), "BranchDoesNotExistException")
        first = self.cc.put_file(repositoryName=repo, branchName="main", fileContent=b"FROM ghost:6",
                                 filePath="Dockerfile")["commitId"]
        self.assertEqual(self.cc.get_branch(repositoryName=repo, branchName="main")["branch"]["commitId"], first)
        self.assertEqual(self.cc.get_repository(repositoryName=repo)["repositoryMetadata"]["defaultBranch"], "main")
        for parent, code in ((None, "ParentCommitIdRequiredException"), ("0" * 40, "ParentCommitIdOutdatedException")):
            with self.assertRaises(ClientError) as ctx:
                kwargs = {"parentCommitId": parent} if parent else {}
                self.cc.put_file(repositoryName=repo, branchName="main", fileContent=b"x", filePath="a", **kwargs)
            self.assertEqual(error_code(ctx), code)
        second = self.cc.put_file(repositoryName=repo, branchName="main", fileContent=b"x", filePath="a",
                                  parentCommitId=first)["commitId"]
        self.assertNotEqual(first, second)
        self.cc.delete_repository(repositoryName=repo)

    def test_the_creation_runs_once_and_fails_at_an_empty_source_then_a_commit_builds(self):
        repo, name = f"runs-{uuid.uuid4().hex[:6]}", f"runs-{uuid.uuid4().hex[:6]}"
        self.cc.create_repository(repositoryName=repo)
        self.cp.create_pipeline(pipeline=self.pipeline(name, repo))
        runs = self.cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
        self.assertEqual([(r["status"], r["trigger"]["triggerType"]) for r in runs], [("InProgress", "CreatePipeline")])
        first = runs[0]["pipelineExecutionId"]
        seen = states_until(lambda: self.status(name, first), "Failed", 2)
        self.assertEqual([s for _, s in seen], ["InProgress", "Failed"])
        self.assertAlmostEqual(seen[-1][0], 10 * self.FACTOR, delta=0.3)  # the source action's time
        source = self.cp.get_pipeline_state(name=name)["stageStates"][0]
        self.assertEqual(source["latestExecution"]["status"], "Failed")
        self.assertIn("no branch named main", source["actionStates"][0]["latestExecution"]["errorDetails"]["message"])

        # A commit: the next execution fetches it, builds for the build's time and succeeds.
        self.cc.put_file(repositoryName=repo, branchName="main", fileContent=b"FROM ghost:6", filePath="Dockerfile")
        run = self.cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
        seen = states_until(lambda: self.status(name, run), "Succeeded", 6)
        self.assertEqual([s for _, s in seen], ["InProgress", "Succeeded"])
        self.assertAlmostEqual(seen[-1][0], (10 + 300) * self.FACTOR, delta=0.4)
        trigger = self.cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=run)["pipelineExecution"]
        self.assertEqual(trigger["trigger"]["triggerType"], "StartPipelineExecution")
        with self.assertRaises(ClientError) as ctx:
            self.cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=run)
        self.assertEqual(error_code(ctx), "PipelineExecutionNotStoppableException")
        self.cp.delete_pipeline(name=name)
        self.cc.delete_repository(repositoryName=repo)

    def test_an_approval_waits_until_the_execution_is_stopped(self):
        repo, name = f"runs-{uuid.uuid4().hex[:6]}", f"runs-{uuid.uuid4().hex[:6]}"
        self.cc.create_repository(repositoryName=repo)
        self.cc.put_file(repositoryName=repo, branchName="main", fileContent=b"FROM ghost:6", filePath="Dockerfile")
        self.cp.create_pipeline(pipeline=self.pipeline(name, repo, approval=True))
        run = self.cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0][
            "pipelineExecutionId"]
        time.sleep((10 + 300) * self.FACTOR + 0.5)
        self.assertEqual(self.status(name, run), "InProgress")
        stages = {s["stageName"]: s.get("latestExecution", {}).get("status")
                  for s in self.cp.get_pipeline_state(name=name)["stageStates"]}
        self.assertEqual(stages, {"Source": "Succeeded", "Build": "Succeeded", "Approve": "InProgress"})
        self.cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=run, abandon=True, reason="nobody")
        self.assertEqual(self.status(name, run), "Stopped")
        self.cp.delete_pipeline(name=name)
        self.cc.delete_repository(repositoryName=repo)


class CodeConnections(unittest.TestCase):
    def test_connection_json_lifecycle(self):
        cc = client("codeconnections")
        created = cc.create_connection(ConnectionName="ghost-gh", ProviderType="GitHub",
                                       Tags=[{"Key": "ghost:stack", "Value": "t"}])
        arn = created["ConnectionArn"]
        self.assertRegex(arn, rf"^arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/[0-9a-f-]{{36}}$")
        self.assertEqual(created["Tags"], [{"Key": "ghost:stack", "Value": "t"}])
        expected = {"ConnectionName": "ghost-gh", "ConnectionArn": arn, "ProviderType": "GitHub",
                    "OwnerAccountId": ACCOUNT, "ConnectionStatus": "PENDING"}
        self.assertEqual(cc.get_connection(ConnectionArn=arn)["Connection"], expected)
        other = cc.create_connection(ConnectionName="ghost-bb", ProviderType="Bitbucket")["ConnectionArn"]
        self.assertIn(expected, cc.list_connections()["Connections"])
        self.assertEqual([c["ConnectionArn"] for c in cc.list_connections(ProviderTypeFilter="Bitbucket")["Connections"]],
                         [other])
        page = cc.list_connections(MaxResults=1)
        self.assertEqual(len(page["Connections"]), 1)
        self.assertEqual(len(cc.list_connections(MaxResults=1, NextToken=page["NextToken"])["Connections"]), 1)

        cc.tag_resource(ResourceArn=arn, Tags=[{"Key": "ghost:stack", "Value": "u"}, {"Key": "b", "Value": "c"}])
        self.assertEqual(sorted(cc.list_tags_for_resource(ResourceArn=arn)["Tags"], key=lambda t: t["Key"]),
                         [{"Key": "b", "Value": "c"}, {"Key": "ghost:stack", "Value": "u"}])
        cc.untag_resource(ResourceArn=arn, TagKeys=["b"])
        self.assertEqual(cc.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "ghost:stack", "Value": "u"}])

        status, _, body = post(f"/_ghost/connections/complete?arn={arn}")
        self.assertEqual((status, json.loads(body)["ConnectionStatus"]), (200, "AVAILABLE"))
        self.assertEqual(cc.get_connection(ConnectionArn=arn)["Connection"]["ConnectionStatus"], "AVAILABLE")
        self.assertEqual(post("/_ghost/connections/complete?arn=nope")[0], 404)

        with self.assertRaises(ClientError) as ctx:
            cc.create_connection(ConnectionName="x", ProviderType="Gitea")
        self.assertEqual(error_code(ctx), "InvalidInputException")
        cc.delete_connection(ConnectionArn=arn)
        cc.delete_connection(ConnectionArn=other)
        for call in (lambda: cc.get_connection(ConnectionArn=arn), lambda: cc.delete_connection(ConnectionArn=arn),
                     lambda: cc.list_tags_for_resource(ResourceArn=arn)):
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertEqual(error_code(ctx), "ResourceNotFoundException")

        calls = json.loads(urllib.request.urlopen(f"{URL}/_ghost/calls?key={KEY}").read())
        self.assertIn({"service": "codeconnections", "action": "CreateConnection", "mutating": True, "status": 200},
                      [{k: c[k] for k in ("service", "action", "mutating", "status")} for c in calls])

    def test_connection_cbor(self):
        # The Rust SDK (aws-sdk-codeconnections) speaks Smithy RPC v2 CBOR, not JSON.
        def call(op, body):
            return cbor("CodeConnections_20231201", op, body, signing="codeconnections")

        status, headers, created = call("CreateConnection", {"ConnectionName": "ghost-cbor", "ProviderType": "GitHub"})
        self.assertEqual((status, headers["smithy-protocol"], headers["Content-Type"]),
                         (200, "rpc-v2-cbor", "application/cbor"))
        arn = created["ConnectionArn"]
        self.assertEqual(call("GetConnection", {"ConnectionArn": arn})[2]["Connection"]["ConnectionStatus"], "PENDING")
        self.assertEqual(call("DeleteConnection", {"ConnectionArn": arn})[:1], (200,))
        status, _, error = call("GetConnection", {"ConnectionArn": arn})
        self.assertEqual((status, error["__type"]), (400, "ResourceNotFoundException"))

    def test_reset_forgets_connections(self):
        cc = client("codeconnections")
        arn = cc.create_connection(ConnectionName="ghost-reset", ProviderType="GitLab")["ConnectionArn"]
        post("/moto-api/reset")
        self.assertEqual(json.loads(urllib.request.urlopen(f"{URL}/_ghost/calls").read()), [])
        with self.assertRaises(ClientError) as ctx:
            cc.get_connection(ConnectionArn=arn)
        self.assertEqual(error_code(ctx), "ResourceNotFoundException")


class CloudWatchCbor(unittest.TestCase):
    ALARM = {"AlarmName": "ghost-5xx", "AlarmDescription": "too many 5xx", "Namespace": "AWS/ApplicationELB",
             "MetricName": "HTTPCode_Target_5XX_Count", "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 2,
             "Threshold": 5.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
             "Dimensions": [{"Name": "LoadBalancer", "Value": "app/ghost/123"}],
             "AlarmActions": ["arn:aws:sns:eu-west-2:123456789012:ghost-alerts"], "ActionsEnabled": True}

    def test_alarm_round_trip(self):
        status, headers, body = cloudwatch("PutMetricAlarm", {**self.ALARM, "Tags": [{"Key": "ghost:stack", "Value": "t"}]})
        self.assertEqual((status, headers["smithy-protocol"], body), (200, "rpc-v2-cbor", None))
        status, headers, body = cloudwatch("DescribeAlarms", {"AlarmNames": ["ghost-5xx"]})
        self.assertEqual((status, headers["Content-Type"]), (200, "application/cbor"))
        alarm = body["MetricAlarms"][0]
        for field, value in self.ALARM.items():
            self.assertEqual(alarm[field], value, field)
        self.assertIsInstance(alarm["Threshold"], float)  # a CBOR float, as the model's double demands
        self.assertIsInstance(alarm["AlarmConfigurationUpdatedTimestamp"], datetime.datetime)  # CBOR tag 1

        arn = alarm["AlarmArn"]
        self.assertEqual(cloudwatch("ListTagsForResource", {"ResourceARN": arn})[2]["Tags"],
                         [{"Key": "ghost:stack", "Value": "t"}])
        self.assertEqual(cloudwatch("TagResource", {"ResourceARN": arn, "Tags": [{"Key": "b", "Value": "c"}]})[0], 200)
        self.assertEqual(len(cloudwatch("ListTagsForResource", {"ResourceARN": arn})[2]["Tags"]), 2)

        cloudwatch("PutMetricAlarm", {**self.ALARM, "Threshold": 10.5})
        self.assertEqual(cloudwatch("DescribeAlarms", {"AlarmNames": ["ghost-5xx"]})[2]["MetricAlarms"][0]["Threshold"],
                         10.5)
        status, _, body = cloudwatch("DeleteAlarms", {"AlarmNames": ["ghost-5xx"]})
        self.assertEqual((status, body), (200, None))
        self.assertEqual(cloudwatch("DescribeAlarms", {"AlarmNames": ["ghost-5xx"]})[2]["MetricAlarms"], [])

    def test_dashboard_round_trip(self):
        dashboard = json.dumps({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3,
                                             "properties": {"markdown": "ghost"}}]})
        self.assertEqual(cloudwatch("PutDashboard", {"DashboardName": "ghost", "DashboardBody": dashboard})[0], 200)
        got = cloudwatch("GetDashboard", {"DashboardName": "ghost"})[2]
        self.assertEqual((got["DashboardName"], got["DashboardBody"]), ("ghost", dashboard))
        listed = cloudwatch("ListDashboards", {})[2]["DashboardEntries"]
        self.assertEqual([d["DashboardName"] for d in listed], ["ghost"])
        self.assertIsInstance(listed[0]["LastModified"], datetime.datetime)
        self.assertEqual(cloudwatch("DeleteDashboards", {"DashboardNames": ["ghost"]})[0], 200)
        status, headers, error = cloudwatch("GetDashboard", {"DashboardName": "ghost"})
        self.assertEqual(status, 404)
        self.assertEqual(headers["smithy-protocol"], "rpc-v2-cbor")
        self.assertTrue(error["__type"].endswith("ResourceNotFound"), error)
        self.assertTrue(error["message"])

    def test_metrics(self):
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        cloudwatch("PutMetricData", {"Namespace": "Ghost/Test", "MetricData": [
            {"MetricName": "Posts", "Value": 3.0, "Unit": "Count", "Timestamp": now,
             "Dimensions": [{"Name": "Stack", "Value": "t"}]}]})
        metrics = cloudwatch("ListMetrics", {"Namespace": "Ghost/Test"})[2]["Metrics"]
        self.assertEqual(metrics, [{"Namespace": "Ghost/Test", "MetricName": "Posts",
                                    "Dimensions": [{"Name": "Stack", "Value": "t"}]}])
        status, _, data = cloudwatch("GetMetricData", {
            "StartTime": now - datetime.timedelta(minutes=5), "EndTime": now + datetime.timedelta(minutes=5),
            "MetricDataQueries": [{"Id": "posts", "MetricStat": {"Metric": metrics[0], "Period": 60, "Stat": "Sum"}}]})
        self.assertEqual(status, 200, data)
        result = data["MetricDataResults"][0]
        self.assertEqual(result["Values"], [3.0])
        self.assertIsInstance(result["Timestamps"][0], datetime.datetime)

    def test_gzipped_request(self):
        # The Rust SDK gzips large PutMetricData bodies (Content-Encoding: gzip).
        body = gzip.compress(cbor2.dumps({"Namespace": "Ghost/Gzip", "MetricData": [{"MetricName": "Hits", "Value": 1.0}]}))
        status, _, raw = post("/service/GraniteServiceVersion20100801/operation/PutMetricData", body, {
            "smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Content-Encoding": "gzip",
            "Authorization": auth("monitoring")})
        self.assertEqual((status, raw), (200, b""))
        self.assertEqual([m["MetricName"] for m in cloudwatch("ListMetrics", {"Namespace": "Ghost/Gzip"})[2]["Metrics"]],
                         ["Hits"])

    def test_unknown_operation_and_injected_crash(self):
        status, _, error = cloudwatch("NoSuchThing", {})
        self.assertEqual((status, error["__type"]), (404, "UnknownOperationException"))
        key = "AKIDCBORCRASH"
        post("/_ghost/faults", json.dumps({"key": key, "crash_after_mutating": 0}).encode(),
             {"Content-Type": "application/json"})
        try:
            status, headers, error = cloudwatch("DescribeAlarms", {}, key=key)
            self.assertEqual((status, headers["smithy-protocol"], error["__type"]), (400, "rpc-v2-cbor", "InjectedCrash"))
            with self.assertRaises(ClientError) as ctx:
                client("codeconnections", key=key).list_connections()
            self.assertEqual(error_code(ctx), "InjectedCrash")
        finally:
            urllib.request.urlopen(urllib.request.Request(f"{URL}/_ghost/faults?key={key}", method="DELETE"))
        calls = json.loads(urllib.request.urlopen(f"{URL}/_ghost/calls?key={key}").read())
        self.assertEqual([(c["service"], c["action"], c.get("injected")) for c in calls],
                         [("monitoring", "DescribeAlarms", "crash"), ("codeconnections", "ListConnections", "crash")])


def arm(body):
    status, _, raw = post("/_ghost/faults", json.dumps(body).encode(), {"Content-Type": "application/json"})
    return status, json.loads(raw)


def disarm(key):
    urllib.request.urlopen(urllib.request.Request(f"{URL}/_ghost/faults?key={key}", method="DELETE"))


def recorded(key):
    return json.loads(urllib.request.urlopen(f"{URL}/_ghost/calls?key={key}").read())


def raw_client(service, key):
    """A boto3 client that does not retry, and says each call is a first attempt of five (so the front treats it
    as retryable): each injected fault is seen as it is."""
    from botocore.config import Config
    c = boto3.client(service, endpoint_url=URL, region_name=REGION, aws_access_key_id=key,
                     aws_secret_access_key="secret", config=Config(retries={"total_max_attempts": 1}))

    def first_of_five(request, **_):
        request.headers["amz-sdk-request"] = "attempt=1; max=5"

    c.meta.events.register_last("before-send", first_of_five)
    return c


class FaultFront(unittest.TestCase):
    """The fault-injecting front: crash as an error or a dropped connection, transient faults, latency."""

    def test_bad_fault_bodies_are_refused_with_the_reason(self):
        for body, says in [({}, "need a key"), ({"key": "K", "crash_as": "drop"}, "need at least one"),
                           ({"key": "K", "latency_ms": -1}, "latency_ms"), ({"key": "K", "bogus": 1}, "unknown"),
                           ({"key": "K", "transient_fraction": 2}, "between 0 and 1")]:
            status, answer = arm(body)
            self.assertEqual(status, 400, body)
            self.assertIn(says, answer["error"])

    def test_a_dropped_crash_makes_the_kth_write_and_loses_its_answer(self):
        key = "AKIDDROPCRASH"
        ec2 = raw_client("ec2", key)
        arm({"key": key, "crash_after_mutating": 2, "crash_as": "drop"})
        try:
            ec2.create_vpc(CidrBlock="10.91.0.0/16")
            with self.assertRaises(Exception) as ctx:  # the connection closes unanswered
                ec2.create_vpc(CidrBlock="10.92.0.0/16")
            self.assertNotIsInstance(ctx.exception, ClientError)
            with self.assertRaises(Exception):
                ec2.describe_vpcs()
        finally:
            disarm(key)
        cidrs = {v["CidrBlock"] for v in client("ec2").describe_vpcs()["Vpcs"]}
        self.assertTrue({"10.91.0.0/16", "10.92.0.0/16"} <= cidrs, "the lost call's write was made")
        calls = recorded(key)
        self.assertEqual([(c["action"], c.get("injected")) for c in calls],
                         [("CreateVpc", None), ("CreateVpc", "drop"), ("DescribeVpcs", "drop")])

    def test_a_crash_after_an_action_lets_that_call_through_and_refuses_every_later_one(self):
        key = "AKIDACTIONCRASH"
        ec2 = raw_client("ec2", key)
        arm({"key": key, "crash_after_action": "CreateSubnet", "clock_factor": 0})  # ids propagate at once
        try:
            vpc = ec2.create_vpc(CidrBlock="10.93.0.0/16")["Vpc"]["VpcId"]
            ec2.describe_vpcs()
            ec2.create_subnet(VpcId=vpc, CidrBlock="10.93.1.0/24")
            for call in (ec2.describe_vpcs, lambda: ec2.create_vpc(CidrBlock="10.94.0.0/16")):
                with self.assertRaises(ClientError) as ctx:
                    call()
                self.assertEqual(error_code(ctx), "InjectedCrash")
        finally:
            disarm(key)
        self.assertEqual([(c["action"], c.get("injected")) for c in recorded(key)],
                         [("CreateVpc", None), ("DescribeVpcs", None), ("CreateSubnet", None),
                          ("DescribeVpcs", "crash"), ("CreateVpc", "crash")])
        self.assertEqual(arm({"key": key, "crash_after_action": ""})[0], 400)

    def test_transient_faults_hit_the_fraction_asked_for_in_each_protocol(self):
        key = "AKIDTRANSIENT"
        arm({"key": key, "transient_fraction": 0.5, "transient_seed": 7})
        seen = {}
        try:
            for service, call in [("ec2", lambda c: c.describe_vpcs()), ("ecs", lambda c: c.list_clusters()),
                                  ("elbv2", lambda c: c.describe_load_balancers()),
                                  ("s3", lambda c: c.list_buckets())]:
                c = raw_client(service, key)
                for _ in range(20):
                    try:
                        call(c)
                    except ClientError as e:
                        code, status = e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
                        seen.setdefault(service, set()).add((code, status))
        finally:
            disarm(key)
        calls = recorded(key)
        injected = [c for c in calls if c.get("injected")]
        self.assertTrue(0.3 <= len(injected) / len(calls) <= 0.7, f"{len(injected)} of {len(calls)}")
        self.assertEqual({c["injected"] for c in injected}, {"throttle", "429", "503"})
        self.assertIn(("RequestLimitExceeded", 400), seen["ec2"])
        self.assertIn(("ThrottlingException", 400), seen["ecs"])
        self.assertIn(("TooManyRequestsException", 429), seen["elbv2"])
        self.assertTrue(any(status == 503 for _, status in seen["s3"]), seen["s3"])

    def test_a_calls_last_attempt_is_never_faulted(self):
        key = "AKIDLASTATTEMPT"
        arm({"key": key, "transient_fraction": 1.0})
        try:
            # botocore's standard mode sends amz-sdk-request: attempt=N; max=3 and retries the faults.
            from botocore.config import Config
            ecs = boto3.client("ecs", endpoint_url=URL, region_name=REGION, aws_access_key_id=key,
                               aws_secret_access_key="secret",
                               config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
            ecs.list_clusters()
        finally:
            disarm(key)
        self.assertEqual([bool(c.get("injected")) for c in recorded(key)], [True, True, False])

    def test_a_crash_after_an_action_waits_for_a_call_of_it_that_takes_effect(self):
        key = f"AKIDTRIP{uuid.uuid4().hex[:8].upper()}"
        ec2 = raw_client("ec2", key)
        arm({"key": key, "crash_after_action": "ModifyVpcAttribute", "clock_factor": 0.5})
        try:
            vpc = ec2.create_vpc(CidrBlock="10.95.0.0/16")["Vpc"]["VpcId"]
            modify = lambda: ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # noqa: E731
            with self.assertRaises(ClientError) as ctx:
                modify()  # the new id has not propagated: refused, nothing changed, so no crash yet
            self.assertEqual(error_code(ctx), "InvalidVpcID.NotFound")
            ec2.describe_vpcs()
            time.sleep(EC2_PROPAGATION_S * 0.5 + 0.05)
            modify()
            with self.assertRaises(ClientError) as ctx:
                ec2.describe_vpcs()
            self.assertEqual(error_code(ctx), "InjectedCrash")
        finally:
            disarm(key)

    def test_a_throttled_action_fails_every_attempt_so_the_retries_run_out(self):
        key = f"AKIDTHR{uuid.uuid4().hex[:8].upper()}"
        self.assertEqual(arm({"key": key, "throttle_action": "CreateTopic"})[0], 200)
        sns = boto3.client("sns", endpoint_url=URL, region_name=REGION, aws_access_key_id=key,
                           aws_secret_access_key="secret",
                           config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 3}))
        with self.assertRaises(ClientError) as ctx:
            sns.create_topic(Name="t")
        self.assertEqual(error_code(ctx), "ThrottlingException")
        attempts = ctx.exception.response["ResponseMetadata"]["RetryAttempts"] + 1
        sns.list_topics()  # other actions pass
        injected = [c.get("injected") for c in recorded(key) if c["action"] in ("CreateTopic", "ListTopics")]
        self.assertEqual(injected, ["throttle"] * attempts + [None], "every attempt refused, the last one too")
        self.assertGreater(attempts, 1)
        disarm(key)
        self.assertEqual(arm({"key": key, "throttle_action": ""})[0], 400)

    def test_latency_is_added_to_every_call(self):
        key = "AKIDLATENCY"
        ecs = raw_client("ecs", key)
        arm({"key": key, "latency_ms": 200})
        try:
            t = time.time()
            for _ in range(3):
                ecs.list_clusters()
            waited = time.time() - t
        finally:
            disarm(key)
        self.assertGreaterEqual(waited, 0.6)


def unvalidated(service, key=KEY):
    """A boto3 client that sends what it is given: botocore's own client-side checks off, so the server's are seen."""
    from botocore.config import Config
    return boto3.client(service, endpoint_url=URL, region_name=REGION, aws_access_key_id=key,
                        aws_secret_access_key="secret", config=Config(parameter_validation=False))


class ModelValidation(unittest.TestCase):
    """Requests are checked against AWS's service model (botocore's data) before moto sees them, in each protocol,
    and refused with the service's code and AWS's message shape."""

    def assert_refused(self, call, code, path, constraint):
        with self.assertRaises(ClientError) as ctx:
            call()
        self.assertEqual(error_code(ctx), code)
        message = ctx.exception.response["Error"]["Message"]
        self.assertRegex(message, r"^\d+ validation errors? detected: Value ")
        self.assertIn(f"at '{path}' failed to satisfy constraint: {constraint}", message)

    def test_each_kind_of_constraint_is_refused_in_each_protocol(self):
        elbv2, iam, logs, ssm, ecs = (unvalidated(s) for s in ("elbv2", "iam", "logs", "ssm", "ecs"))
        # query protocol: a numeric range (ELBv2 CreateTargetGroup HealthCheckIntervalSeconds: 5-300)
        self.assert_refused(lambda: elbv2.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId="vpc-1",
                                                              HealthCheckIntervalSeconds=1),
                            "ValidationError", "HealthCheckIntervalSeconds", "Member must have value greater than or equal to 5")
        # query: a length (IAM RoleName: 1-64) and a pattern (IAM Path)
        self.assert_refused(lambda: iam.create_role(RoleName="r" * 65, AssumeRolePolicyDocument="{}"),
                            "ValidationError", "RoleName", "Member must have length less than or equal to 64")
        self.assert_refused(lambda: iam.create_role(RoleName="r", Path="no-slashes", AssumeRolePolicyDocument="{}"),
                            "ValidationError", "Path", "Member must satisfy regular expression pattern")
        # JSON protocol: a pattern (CloudWatch Logs group names), an enum (SSM parameter Type)
        self.assert_refused(lambda: logs.create_log_group(logGroupName="no spaces?"),
                            "ValidationException", "logGroupName", "Member must satisfy regular expression pattern")
        self.assert_refused(lambda: ssm.put_parameter(Name="/x", Value="v", Type="Bogus"),
                            "ValidationException", "Type", "Member must satisfy enum value set: [String, StringList, SecureString]")
        # JSON: a list's size inside a structure (ECS tags: at most 50), a required member
        tags = [{"key": f"k{i}", "value": "v"} for i in range(51)]
        self.assert_refused(lambda: ecs.create_cluster(clusterName="c", tags=tags),
                            "InvalidParameterException", "tags", "Member must have length less than or equal to 50")
        self.assert_refused(lambda: ssm.put_parameter(Value="v"), "ValidationException", "Name", "Member must not be null")
        # query, EC2's own flattening (Name.N.Member): a tag specification's resource type outside its enum
        ec2 = unvalidated("ec2")
        self.assert_refused(lambda: ec2.create_vpc(CidrBlock="10.8.0.0/16", TagSpecifications=[
            {"ResourceType": "not-a-type", "Tags": [{"Key": "k", "Value": "v"}]}]),
            "InvalidParameterValue", "TagSpecifications.1.member.ResourceType", "Member must satisfy enum value set")

    def test_rest_json_requests_are_checked_from_uri_query_and_body(self):
        efs = unvalidated("efs")
        # body member: FileSystemId's pattern (fs- and 8 to 40 hex digits)
        self.assert_refused(lambda: efs.create_access_point(FileSystemId="not-a-file-system"), "BadRequest",
                            "FileSystemId", "Member must satisfy regular expression pattern")
        # query-string member, and a URI label
        self.assert_refused(lambda: efs.describe_mount_targets(FileSystemId="fs-1"), "BadRequest", "FileSystemId",
                            "Member must satisfy regular expression pattern")
        self.assert_refused(lambda: efs.describe_backup_policy(FileSystemId="x" * 129), "BadRequest",
                            "FileSystemId", "Member must have length less than or equal to 128")
        fs = efs.create_file_system(CreationToken=str(uuid.uuid4()))["FileSystemId"]
        efs.describe_mount_targets(FileSystemId=fs)

    def test_cbor_requests_are_checked_too(self):
        status, _, body = cloudwatch("PutMetricAlarm", {"AlarmName": "a", "EvaluationPeriods": 0, "MetricName": "m",
                                                        "Namespace": "n", "Period": 60, "Statistic": "Average",
                                                        "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"})
        self.assertEqual(status, 400, body)
        self.assertEqual(body["__type"], "ValidationError")
        self.assertIn("at 'EvaluationPeriods' failed to satisfy constraint: Member must have value greater than or "
                      "equal to 1", body["message"])

    def test_valid_requests_pass_and_the_refusal_is_recorded(self):
        key = "AKIDVALIDATION"
        logs = unvalidated("logs", key)
        logs.create_log_group(logGroupName=f"/ghost/{uuid.uuid4().hex[:8]}")
        with self.assertRaises(ClientError):
            logs.create_log_group(logGroupName="no spaces?")
        calls = recorded(key)
        self.assertEqual([c["status"] for c in calls], [200, 400])
        self.assertIn("logGroupName", calls[1]["refused"])


class HandRules(unittest.TestCase):
    """Rules the API references state in prose and the models lack (launcher.py HAND_RULES)."""

    def task_definition(self, **changes):
        td = {"family": f"f{uuid.uuid4().hex[:6]}", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
              "cpu": "512", "memory": "1024", "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/exec",
              "containerDefinitions": [{"name": "ghost", "image": "ghost:6", "essential": True,
                                        "portMappings": [{"containerPort": 2368, "hostPort": 2368}],
                                        "logConfiguration": {"logDriver": "awslogs", "options": {}}}]}
        td.update(changes)
        return td

    def assert_refused(self, call, code, says):
        with self.assertRaises(ClientError) as ctx:
            call()
        self.assertEqual(error_code(ctx), code)
        self.assertIn(says, ctx.exception.response["Error"]["Message"])

    def test_s3_bucket_names_tags_and_xml_payloads_follow_s3s_rules(self):
        s3 = unvalidated("s3")
        name = f"ghost-rules-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        for bad in ("Upper-case", "ab", "a..b", "192.168.5.4", "xn--bucket", "ends-with-s3alias", "-leading"):
            self.assert_refused(lambda: s3.create_bucket(Bucket=bad), "InvalidBucketName", bad)
        tag = lambda k, v="v": {"TagSet": [{"Key": k, "Value": v}]}  # noqa: E731
        s3.put_bucket_tagging(Bucket=name, Tagging=tag("ghost:stack", "x" * 256))
        for tagging, says in [(tag("k" * 129), "too long"), (tag("k", "v" * 257), "too long"),
                              (tag("aws:owner"), "prefixed with aws:"),
                              ({"TagSet": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}, "same key"),
                              ({"TagSet": [{"Key": f"k{i}", "Value": ""} for i in range(51)]}, "greater than 50")]:
            self.assert_refused(lambda: s3.put_bucket_tagging(Bucket=name, Tagging=tagging), "InvalidTag", says)
        # The XML payload is read through the model: an enum outside its values is MalformedXML.
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        self.assert_refused(lambda: s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "On"}),
                            "MalformedXML", "VersioningConfiguration.Status")
        bad_sse = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "DES"}}]}
        self.assert_refused(lambda: s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=bad_sse),
                            "MalformedXML", "SSEAlgorithm")
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        # A payload that is not a structure (a bucket policy) is the body itself: present, so not refused.
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                                          "Resource": f"arn:aws:s3:::{name}/*",
                                                          "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
        # S3's own error document (<Error><Code>), which strict parsers (the Rust SDK) read the code from.
        request = urllib.request.Request(f"{URL}/Bad_Name", method="PUT", headers={"Authorization": auth("s3")})
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen(request, timeout=10)
        self.assertTrue(ctx.exception.read().startswith(b"<Error><Code>InvalidBucketName</Code>"))
        s3.delete_bucket(Bucket=name)

    def test_fargate_task_definitions_follow_the_fargate_rules(self):
        ecs = unvalidated("ecs")
        ecs.register_task_definition(**self.task_definition())
        ecs.register_task_definition(**self.task_definition(cpu="1 vCPU", memory="2 GB"))
        td = self.task_definition()
        del td["cpu"]
        for bad, says in [(td, "Fargate requires that 'cpu' be defined at the task level."),
                          (self.task_definition(memory="512"), "No Fargate configuration exists for given values: 512 CPU, 512 memory."),
                          (self.task_definition(cpu="300"), "Invalid 'cpu' setting for task."),
                          (self.task_definition(networkMode="bridge"), "Fargate only supports network mode"),
                          (self.task_definition(executionRoleArn=None), "execution role ARN to support log driver awslogs"),
                          (self.task_definition(containerDefinitions=[{
                              "name": "g", "image": "ghost:6", "portMappings": [{"containerPort": 2368, "hostPort": 80}]}]),
                           "the host ports and container ports in port mappings must match")]:
            bad = {k: v for k, v in bad.items() if v is not None}
            self.assert_refused(lambda: ecs.register_task_definition(**bad), "ClientException", says)

    def test_ecs_names_are_letters_numbers_underscores_and_hyphens_up_to_255(self):
        ecs = unvalidated("ecs")
        for call, says in [(lambda: ecs.create_cluster(clusterName="no spaces"), "clusterName 'no spaces'"),
                           (lambda: ecs.create_cluster(clusterName="c" * 256), "clusterName"),
                           (lambda: ecs.register_task_definition(**self.task_definition(family="a.b")), "family 'a.b'")]:
            self.assert_refused(call, "InvalidParameterException", says)
        ecs.create_cluster(clusterName="Ghost_blog-1")

    def test_a_health_check_timeout_must_be_below_its_interval(self):
        elbv2 = unvalidated("elbv2")
        vpc = client("ec2").create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        self.assert_refused(lambda: elbv2.create_target_group(
            Name=f"hc-{uuid.uuid4().hex[:6]}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip",
            HealthCheckIntervalSeconds=10, HealthCheckTimeoutSeconds=10),
            "ValidationError", "Health check interval must be greater than the timeout.")
        elbv2.create_target_group(Name=f"hc-{uuid.uuid4().hex[:6]}", Protocol="HTTP", Port=80, VpcId=vpc,
                                  TargetType="ip", HealthCheckIntervalSeconds=10, HealthCheckTimeoutSeconds=5)

    def test_an_alarms_period_and_evaluation_window_are_bounded(self):
        alarm = {"AlarmName": "w", "MetricName": "m", "Namespace": "n", "Statistic": "Average", "Threshold": 1.0,
                 "ComparisonOperator": "GreaterThanThreshold"}
        for body, says in [(dict(alarm, Period=45, EvaluationPeriods=1), "Period must be 10, 20, 30 or a multiple of 60"),
                           (dict(alarm, Period=60, EvaluationPeriods=1441), "more than 1 day"),
                           (dict(alarm, Period=3600, EvaluationPeriods=169), "more than 7 day"),
                           (dict(alarm, Period=60, EvaluationPeriods=2, DatapointsToAlarm=3), "DatapointsToAlarm")]:
            status, _, answer = cloudwatch("PutMetricAlarm", body)
            self.assertEqual((status, answer["__type"]), (400, "ValidationError"), body)
            self.assertIn(says, answer["message"])
        status, _, _ = cloudwatch("PutMetricAlarm", dict(alarm, Period=3600, EvaluationPeriods=168))
        self.assertEqual(status, 200)


class RuleTable(unittest.TestCase):
    """rules.md is what the models say for operations.txt today, and REST calls are recorded by operation."""

    def test_rules_md_is_current(self):
        generated = subprocess.run([sys.executable, os.path.join(HERE, "launcher.py"), "--rule-table"],
                                   capture_output=True, text=True, check=True).stdout
        with open(os.path.join(HERE, "rules.md")) as f:
            self.assertEqual(f.read(), generated, "regenerate: python localstack/launcher.py --rule-table > "
                                                  "localstack/rules.md")

    def test_rest_calls_are_recorded_with_their_operation(self):
        key = "AKIDRESTOPS"
        efs = client("efs", key)
        fs = efs.create_file_system(CreationToken=str(uuid.uuid4()))["FileSystemId"]
        efs.describe_file_systems(FileSystemId=fs)
        s3 = client("s3", key)
        bucket = f"ops-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.get_bucket_versioning(Bucket=bucket)
        s3.delete_bucket(Bucket=bucket)
        self.assertEqual([c.get("operation") for c in recorded(key)],
                         ["CreateFileSystem", "DescribeFileSystems", "CreateBucket", "GetBucketVersioning",
                          "DeleteBucket"])


class LifecycleClock(unittest.TestCase):
    """Resources come up through AWS's states for AWS's durations times the clock factor, and are refused for use
    until ready, as AWS refuses them. Each test uses a caller's own factor, so it knows how long each phase is."""

    FACTOR = 0.01  # AWS seconds -> 10 ms each: a 150 s load balancer is provisioning for 1.5 s

    def setUp(self):
        self.key = f"AKIDCLOCK{uuid.uuid4().hex[:8].upper()}"
        self.assertEqual(arm({"key": self.key, "clock_factor": self.FACTOR})[0], 200)
        self.ec2 = client("ec2", self.key)
        vpc = self.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        time.sleep(EC2_PROPAGATION_S * self.FACTOR + 0.03)  # the new VPC id propagates (Ec2Propagation)
        self.subnets = [self.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24",
                                               AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
                        for i, az in enumerate("ab")]
        time.sleep(EC2_PROPAGATION_S * self.FACTOR + 0.03)

    def assert_phases(self, seen, phases, final):
        """`seen` went through `phases` [(state, AWS seconds)] in order, each lasting about its scaled duration,
        and ended in `final`."""
        self.assertEqual([state for _, state in seen], [state for state, _ in phases] + [final], seen)
        ends = [at for at, _ in seen[1:]]
        expected = 0
        for (state, aws_seconds), end in zip(phases, ends):
            expected += aws_seconds * self.FACTOR
            self.assertAlmostEqual(end, expected, delta=0.35, msg=f"{state} ended at {end}s: {seen}")

    def test_a_nat_gateway_is_pending_then_available(self):
        eip = self.ec2.allocate_address(Domain="vpc")["AllocationId"]
        time.sleep(EC2_PROPAGATION_S * self.FACTOR + 0.03)
        nat = self.ec2.create_nat_gateway(SubnetId=self.subnets[0], AllocationId=eip)["NatGateway"]
        self.assertEqual(nat["State"], "pending")
        time.sleep(EC2_PROPAGATION_S * self.FACTOR + 0.03)  # describing it by id needs its id propagated
        read = lambda: self.ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]["State"]
        self.assert_phases(states_until(read, "available", 5), [("pending", 90)], "available")

    def test_a_codedeploy_deployment_shifts_traffic_waits_then_succeeds_and_a_rollback_reroutes(self):
        elb, cd, ecs = client("elbv2", self.key), client("codedeploy", self.key), client("ecs", self.key)
        tag = uuid.uuid4().hex[:8]
        lb = elb.create_load_balancer(Name=f"cd-{tag}", Subnets=self.subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        vpc = self.ec2.describe_subnets(SubnetIds=self.subnets[:1])["Subnets"][0]["VpcId"]
        tgs = [elb.create_target_group(Name=f"cd-{tag}-{c}", Protocol="HTTP", Port=2368, VpcId=vpc,
                                       TargetType="ip")["TargetGroups"][0]["TargetGroupArn"] for c in ("b", "g")]
        blue, green = tgs
        listeners = [elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port, DefaultActions=[
            {"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]["ListenerArn"]
            for port, tg in ((80, blue), (8080, green))]
        ecs.create_cluster(clusterName=f"cd-{tag}")
        original = ecs.register_task_definition(family=f"cd-{tag}", containerDefinitions=[
            {"name": "ghost", "image": "ghost:6", "memory": 512}])["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster=f"cd-{tag}", serviceName="svc", taskDefinition=original, desiredCount=1)
        runs = lambda: ecs.describe_services(cluster=f"cd-{tag}", services=["svc"])["services"][0][  # noqa: E731
            "taskDefinition"]
        role = service_role(f"cd-{tag}", "codedeploy.amazonaws.com")
        group = {**CodeDeploy.GROUP, "serviceRoleArn": role,
                 "ecsServices": [{"serviceName": "svc", "clusterName": f"cd-{tag}"}],
                 "loadBalancerInfo": {"targetGroupPairInfoList": [{
                     "targetGroups": [{"name": f"cd-{tag}-b"}, {"name": f"cd-{tag}-g"}],
                     "prodTrafficRoute": {"listenerArns": listeners[:1]},
                     "testTrafficRoute": {"listenerArns": listeners[1:]}}]}}
        app = f"cd-{tag}"
        cd.create_application(applicationName=app, computePlatform="ECS")
        cd.create_deployment_group(applicationName=app, deploymentGroupName="dg", **group)

        def release(revision):
            content = f'Resources:\n  - TargetService:\n      Properties:\n        TaskDefinition: "td:{revision}"\n'
            return cd.create_deployment(applicationName=app, deploymentGroupName="dg", revision={
                "revisionType": "AppSpecContent", "appSpecContent": {"content": content}})["deploymentId"]

        def forwards():
            """Each listener's forward as {target group: weight}."""
            out = []
            for listener in elb.describe_listeners(ListenerArns=listeners)["Listeners"]:
                action = listener["DefaultActions"][0]
                if "TargetGroupArn" in action:
                    out.append({action["TargetGroupArn"]: 1})
                else:
                    out.append({g["TargetGroupArn"]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]})
            return out

        def phase(deployment):
            info = cd.get_deployment(deploymentId=deployment)["deploymentInfo"]
            return info["status"] + ("/waiting" if info["instanceTerminationWaitTimeStarted"] else "")

        # Install, then the termination wait (5 minutes in CodeDeploy.GROUP), then done.
        first = release(2)
        seen = states_until(lambda: phase(first), "Succeeded/waiting", 8)
        self.assert_phases(seen, [("InProgress", AWS_INSTALL_S), ("InProgress/waiting", 300)], "Succeeded/waiting")
        # Both listeners on green, blue kept behind them at weight 0 (the scalar TargetGroupArn gone).
        self.assertEqual(forwards(), [{green: 100, blue: 0}, {green: 100, blue: 0}])
        self.assertEqual(runs(), "td:2")
        # The next release reads green as live from the weighted forward and moves traffic back to blue.
        second = release(3)
        states_until(lambda: phase(second), "InProgress/waiting", 4)
        self.assertEqual(forwards(), [{blue: 100, green: 0}, {blue: 100, green: 0}])
        self.assertEqual(runs(), "td:3")
        # Stopped with rollback during the termination wait: traffic back on green and the service on the first
        # release's revision, as that release left them.
        cd.stop_deployment(deploymentId=second, autoRollbackEnabled=True)
        self.assertEqual(phase(second), "Stopped/waiting")
        self.assertEqual(forwards(), [{green: 100, blue: 0}, {green: 100, blue: 0}])
        self.assertEqual(runs(), "td:2")
        cd.delete_application(applicationName=app)

    def test_a_load_balancer_is_provisioning_then_active(self):
        elb = client("elbv2", self.key)
        lb = elb.create_load_balancer(Name=f"clock-{uuid.uuid4().hex[:8]}", Subnets=self.subnets)["LoadBalancers"][0]
        self.assertEqual(lb["State"]["Code"], "provisioning")
        read = lambda: elb.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])["LoadBalancers"][0][
            "State"]["Code"]
        self.assert_phases(states_until(read, "active", 5), [("provisioning", 150)], "active")

    def test_a_file_system_and_its_mount_target_are_creating_then_available_and_unusable_until_then(self):
        efs = client("efs", self.key)
        fs = efs.create_file_system(CreationToken=str(uuid.uuid4()))
        fs_id = fs["FileSystemId"]
        self.assertEqual(fs["LifeCycleState"], "creating")
        # EFS API reference: each of these fails with IncorrectFileSystemLifeCycleState until it is available.
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                                      "Action": "elasticfilesystem:ClientMount"}]})
        for call in (lambda: efs.create_mount_target(FileSystemId=fs_id, SubnetId=self.subnets[0]),
                     lambda: efs.create_access_point(FileSystemId=fs_id),
                     lambda: efs.put_lifecycle_configuration(FileSystemId=fs_id, LifecyclePolicies=[]),
                     lambda: efs.put_file_system_policy(FileSystemId=fs_id, Policy=policy),
                     lambda: efs.put_backup_policy(FileSystemId=fs_id, BackupPolicy={"Status": "ENABLED"})):
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertEqual(error_code(ctx), "IncorrectFileSystemLifeCycleState")
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 409)
        read = lambda: efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]["LifeCycleState"]
        self.assert_phases(states_until(read, "available", 5), [("creating", 30)], "available")
        mt = efs.create_mount_target(FileSystemId=fs_id, SubnetId=self.subnets[0])
        self.assertEqual(mt["LifeCycleState"], "creating")
        read = lambda: efs.describe_mount_targets(MountTargetId=mt["MountTargetId"])["MountTargets"][0][
            "LifeCycleState"]
        self.assert_phases(states_until(read, "available", 5), [("creating", 90)], "available")
        efs.create_access_point(FileSystemId=fs_id)
        efs.put_backup_policy(FileSystemId=fs_id, BackupPolicy={"Status": "ENABLED"})

    def test_a_database_is_creating_without_an_endpoint_then_backing_up_then_available(self):
        rds = client("rds", self.key)
        name = f"clock-{uuid.uuid4().hex[:8]}"
        db = rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="mysql",
                                    MasterUsername="ghost", MasterUserPassword="a-long-password", AllocatedStorage=20)
        self.assertEqual(db["DBInstance"]["DBInstanceStatus"], "creating")
        self.assertNotIn("Endpoint", db["DBInstance"])
        with self.assertRaises(ClientError) as ctx:
            rds.modify_db_instance(DBInstanceIdentifier=name, AllocatedStorage=30, ApplyImmediately=True)
        self.assertEqual(error_code(ctx), "InvalidDBInstanceState")

        def read():
            d = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
            return d["DBInstanceStatus"], "Endpoint" in d

        seen = states_until(read, ("available", True), 10)
        self.assertEqual([s for _, s in seen], [("creating", False), ("backing-up", True), ("available", True)])
        self.assertAlmostEqual(seen[1][0], 420 * self.FACTOR, delta=0.5, msg=seen)
        self.assertAlmostEqual(seen[2][0], 540 * self.FACTOR, delta=0.5, msg=seen)
        rds.modify_db_instance(DBInstanceIdentifier=name, AllocatedStorage=30, ApplyImmediately=True)

    def test_factor_zero_is_moto_as_it_was_and_bad_factors_are_refused(self):
        key = f"AKIDCLOCKOFF{uuid.uuid4().hex[:6].upper()}"
        self.assertEqual(arm({"key": key, "clock_factor": 0})[0], 200)
        efs = client("efs", key)
        self.assertEqual(efs.create_file_system(CreationToken=str(uuid.uuid4()))["LifeCycleState"], "available")
        for body in ({"key": key, "clock_factor": -1}, {"key": key, "clock_factor": "fast"}):
            status, answer = arm(body)
            self.assertEqual(status, 400, body)
            self.assertIn("clock_factor", answer["error"])
        self.assertEqual(json.loads(post("/_ghost/clock", b'{"factor": -2}')[2])["error"][:4], "need")
        health = json.loads(urllib.request.urlopen(f"{URL}/_ghost/health", timeout=5).read())
        self.assertEqual(health["clock_factor"], 0.01, "the launcher's --clock-factor")

    def test_the_clock_table_is_readable_for_a_benchmarks_bound(self):
        clock = json.loads(urllib.request.urlopen(f"{URL}/_ghost/clock", timeout=5).read())
        self.assertEqual(clock["clock_factor"], 0.01)
        aws = clock["aws_seconds"]
        self.assertEqual((aws["load-balancer/provisioning"], aws["ec2/id-propagation"], aws["iam-role/propagation"]),
                         (150, 2, 10))
        self.assertEqual(aws["db-instance/deleting"], 300)


class Teardown(unittest.TestCase):
    """Deletes return before the resource is gone, and what a service placed in our subnets outlives its owner: the
    subnet, the groups, the gateway and the VPC refuse until then, as AWS refuses (docs/aws/deletion-dependencies.md)."""

    FACTOR = 0.01

    def setUp(self):
        self.key = f"AKIDGONE{uuid.uuid4().hex[:8].upper()}"
        self.assertEqual(arm({"key": self.key, "clock_factor": self.FACTOR})[0], 200)
        self.ec2 = client("ec2", self.key)
        self.vpc = self.ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
        time.sleep(EC2_PROPAGATION_S * self.FACTOR + 0.03)  # the new VPC id propagates (Ec2Propagation)
        self.subnets = [self.ec2.create_subnet(VpcId=self.vpc, CidrBlock=f"10.8.{i}.0/24",
                                               AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
                        for i, az in enumerate("ab")]
        self.sg = self.ec2.create_security_group(GroupName=f"g-{uuid.uuid4().hex[:6]}", Description="d",
                                                 VpcId=self.vpc)["GroupId"]
        self.igw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        time.sleep(EC2_PROPAGATION_S * self.FACTOR + 0.03)
        self.ec2.attach_internet_gateway(InternetGatewayId=self.igw, VpcId=self.vpc)

    def interfaces(self):
        return self.ec2.describe_network_interfaces(
            Filters=[{"Name": "vpc-id", "Values": [self.vpc]}])["NetworkInterfaces"]

    def refused(self, call, code, message=None):
        with self.assertRaises(ClientError) as ctx:
            call()
        self.assertEqual(error_code(ctx), code, ctx.exception.response["Error"])
        if message:
            self.assertIn(message, ctx.exception.response["Error"]["Message"])

    def until(self, call, within):
        """Retries `call` until it succeeds; returns the seconds it took."""
        start = time.time()
        while True:
            try:
                call()
                return time.time() - start
            except ClientError:
                if time.time() - start > within:
                    raise
                time.sleep(0.05)

    def test_a_deleted_load_balancer_keeps_its_interfaces_and_they_block_the_network_for_a_while(self):
        elb = client("elbv2", self.key)
        lb = elb.create_load_balancer(Name=f"gone-{uuid.uuid4().hex[:8]}", Subnets=self.subnets,
                                      SecurityGroups=[self.sg])["LoadBalancers"][0]
        enis = self.interfaces()
        self.assertEqual(len(enis), 2, enis)
        suffix = lb["LoadBalancerArn"].split(":loadbalancer/")[1]
        for eni in enis:
            self.assertEqual(eni["Description"], f"ELB {suffix}")
            self.assertTrue(eni["RequesterManaged"])
            self.assertEqual([g["GroupId"] for g in eni["Groups"]], [self.sg])
            self.assertIn("PublicIp", eni.get("Association", {}), "internet-facing: a public address")
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
        self.refused(lambda: elb.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]]),
                     "LoadBalancerNotFound")
        self.refused(lambda: self.ec2.delete_security_group(GroupId=self.sg), "DependencyViolation",
                     f"resource {self.sg} has a dependent object")
        self.refused(lambda: self.ec2.delete_subnet(SubnetId=self.subnets[0]), "DependencyViolation",
                     f"The subnet '{self.subnets[0]}' has dependencies and cannot be deleted.")
        self.refused(lambda: self.ec2.detach_internet_gateway(InternetGatewayId=self.igw, VpcId=self.vpc),
                     "DependencyViolation", f"Network {self.vpc} has some mapped public address(es).")
        took = self.until(lambda: self.ec2.delete_security_group(GroupId=self.sg), 5)
        self.assertAlmostEqual(took, 90 * self.FACTOR, delta=0.4)
        self.assertEqual(self.interfaces(), [])
        self.ec2.detach_internet_gateway(InternetGatewayId=self.igw, VpcId=self.vpc)
        for subnet in self.subnets:
            self.ec2.delete_subnet(SubnetId=subnet)
        self.ec2.delete_internet_gateway(InternetGatewayId=self.igw)
        self.ec2.delete_vpc(VpcId=self.vpc)

    def test_a_nat_gateway_is_deleting_holding_its_address_and_subnet_until_deleted(self):
        eip = self.ec2.allocate_address(Domain="vpc")["AllocationId"]
        time.sleep(EC2_PROPAGATION_S * self.FACTOR + 0.03)
        nat = self.ec2.create_nat_gateway(SubnetId=self.subnets[0], AllocationId=eip)["NatGateway"]["NatGatewayId"]
        time.sleep(EC2_PROPAGATION_S * self.FACTOR + 0.03)  # deleting it by id needs its id propagated
        [eni] = self.interfaces()
        self.assertEqual((eni["Description"], eni["InterfaceType"]), (f"Interface for NAT Gateway {nat}", "nat_gateway"))
        self.ec2.delete_nat_gateway(NatGatewayId=nat)
        read = lambda: self.ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["State"]
        self.assertEqual(read(), "deleting")
        self.refused(lambda: self.ec2.release_address(AllocationId=eip), "InvalidIPAddress.InUse")
        self.refused(lambda: self.ec2.delete_subnet(SubnetId=self.subnets[0]), "DependencyViolation")
        self.refused(lambda: self.ec2.detach_internet_gateway(InternetGatewayId=self.igw, VpcId=self.vpc),
                     "DependencyViolation")
        seen = states_until(read, "deleted", 5)
        self.assertEqual([s for _, s in seen], ["deleting", "deleted"])
        self.assertAlmostEqual(seen[1][0], 60 * self.FACTOR, delta=0.35)
        self.ec2.release_address(AllocationId=eip)
        self.ec2.delete_subnet(SubnetId=self.subnets[0])

    def test_a_mount_target_is_deleting_and_its_file_system_in_use_until_it_is_gone(self):
        efs = client("efs", self.key)
        fs = efs.create_file_system(CreationToken=str(uuid.uuid4()))["FileSystemId"]
        states_until(lambda: efs.describe_file_systems(FileSystemId=fs)["FileSystems"][0]["LifeCycleState"],
                     "available", 5)
        mt = efs.create_mount_target(FileSystemId=fs, SubnetId=self.subnets[0], SecurityGroups=[self.sg])
        [eni] = self.interfaces()
        self.assertEqual(eni["Description"], f"EFS mount target for {fs} ({mt['MountTargetId']})")
        efs.delete_mount_target(MountTargetId=mt["MountTargetId"])
        read = lambda: [m["LifeCycleState"] for m in efs.describe_mount_targets(FileSystemId=fs)["MountTargets"]]
        self.assertEqual(read(), ["deleting"])
        efs.delete_mount_target(MountTargetId=mt["MountTargetId"])  # again, mid-way: accepted
        self.refused(lambda: efs.delete_file_system(FileSystemId=fs), "FileSystemInUse")
        self.refused(lambda: self.ec2.delete_security_group(GroupId=self.sg), "DependencyViolation")
        took = self.until(lambda: efs.delete_file_system(FileSystemId=fs), 5)
        self.assertAlmostEqual(took, 60 * self.FACTOR, delta=0.35)
        self.assertEqual(self.interfaces(), [])
        self.ec2.delete_security_group(GroupId=self.sg)

    def test_a_database_is_deleting_for_minutes_and_holds_its_subnet_group(self):
        rds = client("rds", self.key)
        group, name = f"g-{uuid.uuid4().hex[:6]}", f"gone-{uuid.uuid4().hex[:8]}"
        rds.create_db_subnet_group(DBSubnetGroupName=group, DBSubnetGroupDescription="d", SubnetIds=self.subnets)
        rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="mysql",
                               MasterUsername="ghost", MasterUserPassword="a-long-password", AllocatedStorage=20,
                               DBSubnetGroupName=group, VpcSecurityGroupIds=[self.sg], MultiAZ=True)
        enis = self.interfaces()
        self.assertEqual(sorted(e["SubnetId"] for e in enis), sorted(self.subnets), "primary and standby")
        self.refused(lambda: rds.delete_db_instance(DBInstanceIdentifier=name, FinalDBSnapshotIdentifier=name + "-f"),
                     "InvalidDBInstanceState", "is currently creating - a final snapshot cannot be taken")
        rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
        read = lambda: rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DBInstanceStatus"]
        self.assertEqual(read(), "deleting")
        self.refused(lambda: rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True),
                     "InvalidDBInstanceState", "is already being deleted")
        self.refused(lambda: rds.delete_db_subnet_group(DBSubnetGroupName=group), "InvalidDBSubnetGroupStateFault",
                     f"Cannot delete the subnet group '{group}' because at least one database instance: {name}")
        self.refused(lambda: self.ec2.delete_subnet(SubnetId=self.subnets[1]), "DependencyViolation")
        took = self.until(lambda: rds.delete_db_subnet_group(DBSubnetGroupName=group), 6)
        self.assertAlmostEqual(took, 300 * self.FACTOR, delta=0.5)
        self.refused(read, "DBInstanceNotFound")
        self.assertEqual(self.interfaces(), [])

    def test_a_deleted_service_drains_its_tasks_and_the_cluster_refuses_until_they_are_gone(self):
        ecs, elb = client("ecs", self.key), client("elbv2", self.key)
        cluster, svc = f"c-{uuid.uuid4().hex[:6]}", "ghost"
        ecs.create_cluster(clusterName=cluster)
        td = ecs.register_task_definition(
            family=f"f-{uuid.uuid4().hex[:6]}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", containerDefinitions=[{"name": "ghost", "image": "ghost:6", "stopTimeout": 10}],
        )["taskDefinition"]["taskDefinitionArn"]
        tg = elb.create_target_group(Name=f"t-{uuid.uuid4().hex[:6]}", Protocol="HTTP", Port=2368, VpcId=self.vpc,
                                     TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "20"}])
        network = {"awsvpcConfiguration": {"subnets": self.subnets, "securityGroups": [self.sg],
                                           "assignPublicIp": "ENABLED"}}
        create = lambda: ecs.create_service(cluster=cluster, serviceName=svc, taskDefinition=td, desiredCount=2,
                                            launchType="FARGATE", networkConfiguration=network,
                                            loadBalancers=[{"targetGroupArn": tg, "containerName": "ghost",
                                                            "containerPort": 2368}])
        create()
        self.refused(create, "InvalidParameterException", "Creation of service was not idempotent.")
        enis = self.interfaces()
        self.assertEqual(len(enis), 2, "one interface per task")
        self.assertTrue(all(e["Description"].startswith("arn:aws:ecs:") for e in enis), enis)
        ecs.delete_service(cluster=cluster, service=svc, force=True)
        read = lambda: ecs.describe_services(cluster=cluster, services=[svc])["services"][0]["status"]
        self.assertEqual(read(), "DRAINING")
        self.refused(create, "InvalidParameterException", "Unable to Start a service that is still Draining.")
        self.refused(lambda: ecs.delete_cluster(cluster=cluster), "ClusterContainsServicesException")
        seen = states_until(read, "INACTIVE", 5)
        self.assertAlmostEqual(seen[1][0], (20 + 10) * self.FACTOR, delta=0.3, msg=seen)
        self.refused(lambda: ecs.delete_cluster(cluster=cluster), "ClusterContainsTasksException")
        self.refused(lambda: self.ec2.detach_internet_gateway(InternetGatewayId=self.igw, VpcId=self.vpc),
                     "DependencyViolation", "mapped public address")
        self.until(lambda: ecs.delete_cluster(cluster=cluster), 5)
        self.assertEqual(self.interfaces(), [])

    def test_container_insights_leaves_its_log_group_behind_the_cluster(self):
        ecs, logs = client("ecs", self.key), client("logs", self.key)
        network = {"awsvpcConfiguration": {"subnets": self.subnets, "securityGroups": [self.sg]}}
        td = ecs.register_task_definition(
            family=f"f-{uuid.uuid4().hex[:6]}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", containerDefinitions=[{"name": "ghost", "image": "ghost:6"}])["taskDefinition"]
        groups = {}
        for insights in ("enabled", "disabled"):
            cluster = f"c-{uuid.uuid4().hex[:6]}"
            ecs.create_cluster(clusterName=cluster, settings=[{"name": "containerInsights", "value": insights}])
            ecs.create_service(cluster=cluster, serviceName="ghost", taskDefinition=td["taskDefinitionArn"],
                               desiredCount=1, launchType="FARGATE", networkConfiguration=network)
            ecs.delete_service(cluster=cluster, service="ghost", force=True)
            self.until(lambda: ecs.delete_cluster(cluster=cluster), 10)
            group = f"/aws/ecs/containerinsights/{cluster}/performance"
            found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
            groups[insights] = [g["logGroupName"] for g in found]
        self.assertEqual(len(groups["enabled"]), 1, groups)
        self.assertEqual(groups["disabled"], [], groups)

    def test_groups_referenced_by_a_rule_and_a_vpc_with_a_gateway_attached_are_refused(self):
        other = self.ec2.create_security_group(GroupName=f"o-{uuid.uuid4().hex[:6]}", Description="d",
                                               VpcId=self.vpc)["GroupId"]
        time.sleep(EC2_PROPAGATION_S * self.FACTOR + 0.03)
        self.ec2.authorize_security_group_ingress(GroupId=other, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 2368, "ToPort": 2368, "UserIdGroupPairs": [{"GroupId": self.sg}]}])
        self.refused(lambda: self.ec2.delete_security_group(GroupId=self.sg), "DependencyViolation")
        self.ec2.delete_security_group(GroupId=other)
        self.ec2.delete_security_group(GroupId=self.sg)
        for subnet in self.subnets:
            self.ec2.delete_subnet(SubnetId=subnet)
        self.refused(lambda: self.ec2.delete_vpc(VpcId=self.vpc), "DependencyViolation",
                     f"The vpc '{self.vpc}' has dependencies and cannot be deleted.")
        self.ec2.detach_internet_gateway(InternetGatewayId=self.igw, VpcId=self.vpc)
        self.ec2.delete_vpc(VpcId=self.vpc)

    def test_with_the_clock_off_everything_goes_at_once(self):
        key = f"AKIDGONEOFF{uuid.uuid4().hex[:6].upper()}"
        self.assertEqual(arm({"key": key, "clock_factor": 0})[0], 200)
        elb, ec2 = client("elbv2", key), client("ec2", key)
        lb = elb.create_load_balancer(Name=f"off-{uuid.uuid4().hex[:8]}", Subnets=self.subnets,
                                      SecurityGroups=[self.sg])["LoadBalancers"][0]
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
        ec2.delete_security_group(GroupId=self.sg)


class IamPropagation(unittest.TestCase):
    """A new role is not assumable by other services for a while (IAM is eventually consistent); each service refuses
    it with its own error until then, as AWS does (docs/aws/iam-propagation-and-sns-kms.md)."""

    FACTOR = 0.1  # the 10 s propagation lasts 1 s

    def setUp(self):
        self.key = f"AKIDIAM{uuid.uuid4().hex[:8].upper()}"
        self.assertEqual(arm({"key": self.key, "clock_factor": self.FACTOR})[0], 200)
        self.iam = client("iam", self.key)

    def role(self, service):
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
        return self.iam.create_role(RoleName=f"r-{uuid.uuid4().hex[:8]}",
                                    AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    def refused_then_accepted(self, call, code, message):
        start = time.time()
        with self.assertRaises(ClientError) as ctx:
            call()
        self.assertEqual(error_code(ctx), code, ctx.exception.response["Error"])
        self.assertIn(message, ctx.exception.response["Error"]["Message"])
        while True:
            try:
                call()
                break
            except ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], code)
                self.assertLess(time.time() - start, 3, "propagated after 10 AWS seconds")
                time.sleep(0.05)
        self.assertAlmostEqual(time.time() - start, 10 * self.FACTOR, delta=0.5)

    def test_codebuild_refuses_a_role_that_has_not_propagated(self):
        cb, arn = client("codebuild", self.key), self.role("codebuild.amazonaws.com")
        name = f"p-{uuid.uuid4().hex[:6]}"
        self.refused_then_accepted(lambda: cb.create_project(
            name=name, source={"type": "NO_SOURCE", "buildspec": "version: 0.2"}, artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                         "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole=arn),
            "InvalidInputException", f"CodeBuild is not authorized to perform: sts:AssumeRole on {arn}")
        other = self.role("codebuild.amazonaws.com")
        self.refused_then_accepted(lambda: cb.update_project(name=name, serviceRole=other), "InvalidInputException",
                                   "not authorized to perform")

    def test_a_role_that_does_not_trust_the_service_is_refused_for_good(self):
        cb, arn = client("codebuild", self.key), self.role("ecs-tasks.amazonaws.com")
        time.sleep(10 * self.FACTOR + 0.2)
        with self.assertRaises(ClientError) as ctx:
            cb.create_project(name=f"p-{uuid.uuid4().hex[:6]}", source={"type": "NO_SOURCE", "buildspec": "x"},
                              artifacts={"type": "NO_ARTIFACTS"}, serviceRole=arn,
                              environment={"type": "LINUX_CONTAINER", "image": "i", "computeType": "BUILD_GENERAL1_SMALL"})
        self.assertEqual(error_code(ctx), "InvalidInputException")

    def test_codedeploy_and_codepipeline_refuse_a_role_that_has_not_propagated(self):
        cd = client("codedeploy", self.key)
        app = f"a-{uuid.uuid4().hex[:6]}"
        cd.create_application(applicationName=app, computePlatform="ECS")
        arn = self.role("codedeploy.amazonaws.com")
        self.refused_then_accepted(lambda: cd.create_deployment_group(
            applicationName=app, deploymentGroupName="g", serviceRoleArn=arn), "InvalidRoleException",
            f"AWS CodeDeploy does not have the permissions required to assume the role {arn}.")
        cp, arn = client("codepipeline", self.key), self.role("codepipeline.amazonaws.com")
        stage = lambda n, cat, owner, provider: {"name": n, "actions": [{  # noqa: E731
            "name": n, "actionTypeId": {"category": cat, "owner": owner, "provider": provider, "version": "1"},
            "configuration": {}, "outputArtifacts": [{"name": "out"}] if cat == "Source" else [],
            "inputArtifacts": [] if cat == "Source" else [{"name": "out"}]}]}
        pipeline = {"name": f"p-{uuid.uuid4().hex[:6]}", "roleArn": arn,
                    "artifactStore": {"type": "S3", "location": "bucket"},
                    "stages": [stage("Source", "Source", "AWS", "CodeCommit"), stage("Build", "Build", "AWS", "CodeBuild")]}
        self.refused_then_accepted(lambda: cp.create_pipeline(pipeline=pipeline), "InvalidStructureException",
                                   f"CodePipeline is not authorized to perform AssumeRole on role {arn}")

    def test_an_efs_policy_naming_a_new_role_is_refused_until_it_has_propagated(self):
        efs = client("efs", self.key)
        fs = efs.create_file_system(CreationToken=str(uuid.uuid4()))["FileSystemId"]
        states_until(lambda: efs.describe_file_systems(FileSystemId=fs)["FileSystems"][0]["LifeCycleState"],
                     "available", 10)
        arn = self.role("ecs-tasks.amazonaws.com")
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": arn}, "Action": "elasticfilesystem:ClientMount"}]})
        self.refused_then_accepted(lambda: efs.put_file_system_policy(FileSystemId=fs, Policy=policy),
                                   "InvalidPolicyException", "Policy contains invalid Principal block")

    def test_the_first_cluster_with_capacity_providers_waits_for_the_ecs_service_linked_role(self):
        try:
            self.iam.delete_role(RoleName="AWSServiceRoleForECS")  # a fresh account: no role yet
        except ClientError:
            pass
        ecs = client("ecs", self.key)
        name = f"c-{uuid.uuid4().hex[:6]}"
        self.refused_then_accepted(lambda: ecs.create_cluster(clusterName=name, capacityProviders=["FARGATE"]),
                                   "InvalidParameterException", "Unable to assume the service linked role.")
        role = self.iam.get_role(RoleName="AWSServiceRoleForECS")["Role"]
        self.assertEqual(role["Path"], "/aws-service-role/ecs.amazonaws.com/")


class Ec2Propagation(unittest.TestCase):
    """A new EC2 id is refused for a moment by the calls that name it (EC2 API reference, "Eventual consistency in
    the Amazon EC2 API"), with the NotFound code of its kind; a filtered describe answers."""

    FACTOR = 0.5  # the 2 s window lasts 1 s

    def test_a_new_id_is_not_found_for_a_moment_then_found(self):
        key = f"AKIDEC2{uuid.uuid4().hex[:8].upper()}"
        self.assertEqual(arm({"key": key, "clock_factor": self.FACTOR})[0], 200)
        ec2 = client("ec2", key)
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        start = time.time()  # the window opened during the create call, so it closes within 1 s from here
        attribute = lambda: ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # noqa: E731
        for call in (attribute, lambda: ec2.describe_vpcs(VpcIds=[vpc]),
                     lambda: ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")):
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertEqual(error_code(ctx), "InvalidVpcID.NotFound")
            self.assertEqual(ctx.exception.response["Error"]["Message"], f"The vpc ID '{vpc}' does not exist")
        filtered = ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Vpcs"]
        self.assertEqual([v["VpcId"] for v in filtered], [vpc])
        time.sleep(max(0.0, 2 * self.FACTOR - (time.time() - start)) + 0.05)
        attribute()
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        with self.assertRaises(ClientError) as ctx:
            ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
        self.assertEqual(error_code(ctx), "InvalidSubnetID.NotFound")
        group = ec2.create_security_group(GroupName=f"g-{uuid.uuid4().hex[:6]}", Description="d", VpcId=vpc)["GroupId"]
        with self.assertRaises(ClientError) as ctx:
            ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        self.assertEqual(error_code(ctx), "InvalidGroup.NotFound")


class AlertDelivery(unittest.TestCase):
    """CloudWatch alarms and EventBridge publish to a topic as AWS service principals: never through the AWS managed
    key alias/aws/sns, through a customer managed key only when its policy lets the service use it, and only when the
    topic's policy allows the publish; the failure shows where AWS shows it (alarm history, FailedInvocations)."""

    def setUp(self):
        self.key = f"AKIDSNS{uuid.uuid4().hex[:8].upper()}"
        self.sns, self.kms = client("sns", self.key), client("kms", self.key)
        self.cw, self.events = client("cloudwatch", self.key), client("events", self.key)

    def service_grant(self, *conditions):
        st = {"Sid": "Services", "Effect": "Allow", "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
              "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]}, "Resource": "*"}
        if conditions:
            st["Condition"] = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
        return st

    def customer_key(self, *statements):
        root = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:*", "Resource": "*"}
        policy = {"Version": "2012-10-17", "Statement": [root, *statements]}
        return self.kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]

    def topic(self, key=None, publishers=("cloudwatch.amazonaws.com", "events.amazonaws.com")):
        attrs = {"KmsMasterKeyId": key} if key else {}
        arn = self.sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}", Attributes=attrs)["TopicArn"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish",
                                                          "Principal": {"Service": list(publishers)},
                                                          "Resource": arn}]}
        self.sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy))
        return arn

    def alarm_action(self, topic):
        name = f"a-{uuid.uuid4().hex[:8]}"
        self.cw.put_metric_alarm(AlarmName=name, Namespace="AWS/ECS", MetricName="CPUUtilization", Statistic="Average",
                                 Period=60, EvaluationPeriods=1, Threshold=80, ComparisonOperator="GreaterThanThreshold",
                                 AlarmActions=[topic])
        self.cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing the action")
        items = self.cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
        self.assertEqual(len(items), 1, items)
        return items[0]["HistorySummary"]

    def test_an_alarm_cannot_use_the_aws_managed_key(self):
        topic = self.topic("alias/aws/sns")
        self.assertEqual(self.alarm_action(topic), f'Failed to execute action {topic}. Received error: '
                                                   '"CloudWatch Alarms does not have authorization to access the SNS '
                                                   'topic encryption key."')

    def test_an_alarm_needs_the_key_policy_grant_and_the_topic_policy(self):
        self.assertIn("Failed", self.alarm_action(self.topic(self.customer_key())))
        granted = self.customer_key(self.service_grant())
        topic = self.topic(granted)
        self.assertEqual(self.alarm_action(topic), f"Successfully executed action {topic}")
        plain = self.topic()  # no SSE: the topic policy alone decides
        self.assertEqual(self.alarm_action(plain), f"Successfully executed action {plain}")
        unpublishable = self.topic(granted, publishers=["events.amazonaws.com"])
        self.assertIn("is not authorized to perform: SNS:Publish", self.alarm_action(unpublishable))

    def test_history_lists_state_updates_newest_first_and_filters_by_type(self):
        topic = self.topic()
        name = f"a-{uuid.uuid4().hex[:8]}"
        self.cw.put_metric_alarm(AlarmName=name, Namespace="AWS/ECS", MetricName="CPUUtilization", Statistic="Average",
                                 Period=60, EvaluationPeriods=1, Threshold=80, ComparisonOperator="GreaterThanThreshold",
                                 OKActions=[topic])
        for state in ("ALARM", "OK"):
            self.cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="r")
        history = self.cw.describe_alarm_history(AlarmName=name)["AlarmHistoryItems"]
        self.assertEqual([i["HistorySummary"] for i in history], [
            f"Successfully executed action {topic}", "Alarm updated from ALARM to OK",
            "Alarm updated from OK to ALARM"])
        updates = self.cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
        self.assertEqual(len(updates), 2)
        later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
        self.assertEqual(self.cw.describe_alarm_history(AlarmName=name, StartDate=later)["AlarmHistoryItems"], [])

    def test_a_key_policy_names_only_visible_principals_and_never_locks_the_caller_out(self):
        iam = client("iam", self.key)
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "lambda.amazonaws.com"}}]}
        arm({"key": self.key, "clock_factor": 0.1})
        role = iam.create_role(RoleName=f"r-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust))
        use = {"Effect": "Allow", "Principal": {"AWS": role["Role"]["Arn"]}, "Action": "kms:Decrypt", "Resource": "*"}
        root = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*",
                "Resource": "*"}
        refusals = [
            ([root, use], "Policy contains a statement with one or more invalid principals."),
            ([use | {"Principal": {"AWS": "arn:aws:iam::123456789012:role/nobody"}}, root],
             "Policy contains a statement with one or more invalid principals."),
            ([root | {"Action": "kms:Decrypt"}],
             "The new key policy will not allow you to update the key policy in the future."),
        ]
        for statements, message in refusals:
            with self.assertRaises(ClientError) as ctx:
                self.kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
            self.assertEqual(error_code(ctx), "MalformedPolicyDocumentException")
            self.assertEqual(ctx.exception.response["Error"]["Message"], message)
        time.sleep(1.1)  # the role has propagated (10 AWS s at factor 0.1)
        key = self.kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [root, use]}))
        locked = json.dumps({"Version": "2012-10-17", "Statement": [use]})
        with self.assertRaises(ClientError):
            self.kms.put_key_policy(KeyId=key["KeyMetadata"]["KeyId"], PolicyName="default", Policy=locked)
        self.kms.put_key_policy(KeyId=key["KeyMetadata"]["KeyId"], PolicyName="default", Policy=locked,
                                BypassPolicyLockoutSafetyCheck=True)

    def rule_delivery(self, topic, pipeline):
        rule = f"r-{uuid.uuid4().hex[:8]}"
        pattern = {"source": ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"],
                   "detail": {"pipeline": [pipeline], "state": ["STARTED"]}}
        self.events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule=rule, Targets=[{"Id": "alerts", "Arn": topic}])
        return rule

    def counted(self, rule, metric):
        now = datetime.datetime.now(datetime.timezone.utc)
        points = self.cw.get_metric_statistics(Namespace="AWS/Events", MetricName=metric, Statistics=["Sum"],
                                               Dimensions=[{"Name": "RuleName", "Value": rule}], Period=60,
                                               StartTime=now - datetime.timedelta(minutes=5),
                                               EndTime=now + datetime.timedelta(minutes=1))["Datapoints"]
        return sum(p["Sum"] for p in points)

    def test_a_pipeline_execution_reaches_the_topic_only_through_a_usable_key(self):
        iam, cp = client("iam", self.key), client("codepipeline", self.key)
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "codepipeline.amazonaws.com"}}]}
        role = iam.create_role(RoleName=f"r-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust))
        cases = [("alias/aws/sns", 1), (self.customer_key(self.service_grant("source condition")), 1),
                 (self.customer_key(self.service_grant()), 0)]
        for key, failures in cases:
            name = f"p-{uuid.uuid4().hex[:8]}"
            rule = self.rule_delivery(self.topic(key), name)
            stage = lambda n, category, provider, **conf: {"name": n, "actions": [{  # noqa: E731
                "name": n, "actionTypeId": {"category": category, "owner": "AWS", "provider": provider,
                                            "version": "1"}, "configuration": conf,
                **({"outputArtifacts": [{"name": "src"}]} if category == "Source" else
                   {"inputArtifacts": [{"name": "src"}]})}]}
            for _ in range(100):  # the new role propagates first (IamPropagation)
                try:
                    cp.create_pipeline(pipeline={
                        "name": name, "roleArn": role["Role"]["Arn"],
                        "artifactStore": {"type": "S3", "location": "bucket"},
                        "stages": [stage("Source", "Source", "CodeCommit", RepositoryName="r", BranchName="main"),
                                   stage("Build", "Build", "CodeBuild", ProjectName="p")]})
                    break
                except ClientError:
                    time.sleep(0.05)
            cp.start_pipeline_execution(name=name)
            # Two executions started: the creation's (CodePipeline starts one) and ours.
            self.assertEqual(self.counted(rule, "Invocations"), 2, key)
            self.assertEqual(self.counted(rule, "FailedInvocations"), 2 * failures, key)


class AutomaticBackups(unittest.TestCase):
    """EFS automatic backups leave recovery points in aws/efs/automatic-backup-vault that outlive the file system;
    they can be deleted (DELETING, then gone) unless the vault's access policy denies it."""

    VAULT = "aws/efs/automatic-backup-vault"

    def file_system(self, backups):
        efs = client("efs")
        fs = efs.create_file_system(CreationToken=str(uuid.uuid4()))
        states_until(lambda: efs.describe_file_systems(FileSystemId=fs["FileSystemId"])["FileSystems"][0][
            "LifeCycleState"], "available", 10)
        efs.put_backup_policy(FileSystemId=fs["FileSystemId"], BackupPolicy={"Status": backups})
        return fs

    def test_recovery_points_outlive_the_file_system_and_delete_through_deleting(self):
        efs, backup = client("efs"), client("backup")
        on, off = self.file_system("ENABLED"), self.file_system("DISABLED")
        status, _, body = post("/_ghost/backup/run")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(len(json.loads(body)["recoveryPoints"]), 1)
        by = lambda fs: backup.list_recovery_points_by_resource(ResourceArn=fs["FileSystemArn"])["RecoveryPoints"]
        self.assertEqual(by(off), [], "no automatic backups, no recovery point")
        points = by(on)
        self.assertEqual([(p["BackupVaultName"], p["Status"]) for p in points], [(self.VAULT, "COMPLETED")])
        efs.delete_file_system(FileSystemId=on["FileSystemId"])
        self.assertEqual(len(by(on)), 1, "the file system's deletion leaves its recovery point, billed")
        arn = points[0]["RecoveryPointArn"]
        described = backup.describe_recovery_point(BackupVaultName=self.VAULT, RecoveryPointArn=arn)
        self.assertEqual(described["ResourceArn"], on["FileSystemArn"])
        backup.delete_recovery_point(BackupVaultName=self.VAULT, RecoveryPointArn=arn)
        self.assertEqual([p["Status"] for p in by(on)], ["DELETING"])
        backup.delete_recovery_point(BackupVaultName=self.VAULT, RecoveryPointArn=arn)  # again: still deleting
        self.assertEqual(states_until(lambda: len(by(on)), 0, 3)[-1][1], 0, "gone after recovery-point/deleting")
        with self.assertRaises(ClientError) as ctx:
            backup.delete_recovery_point(BackupVaultName=self.VAULT, RecoveryPointArn=arn)
        self.assertEqual(error_code(ctx), "ResourceNotFoundException")

    def test_a_vault_policy_denying_deletion_refuses_it(self):
        backup = client("backup")
        fs = self.file_system("ENABLED")
        post("/_ghost/backup/run")
        arn = backup.list_recovery_points_by_resource(ResourceArn=fs["FileSystemArn"])["RecoveryPoints"][0][
            "RecoveryPointArn"]
        deny = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"},
                                                                   "Action": ["backup:DeleteRecoveryPoint"],
                                                                   "Resource": "*"}]})
        backup.put_backup_vault_access_policy(BackupVaultName=self.VAULT, Policy=deny)
        self.assertEqual(backup.get_backup_vault_access_policy(BackupVaultName=self.VAULT)["Policy"], deny)
        with self.assertRaises(ClientError) as ctx:
            backup.delete_recovery_point(BackupVaultName=self.VAULT, RecoveryPointArn=arn)
        self.assertEqual(error_code(ctx), "AccessDeniedException")
        backup.delete_backup_vault_access_policy(BackupVaultName=self.VAULT)
        backup.delete_recovery_point(BackupVaultName=self.VAULT, RecoveryPointArn=arn)

    def test_a_vault_name_outside_the_model_pattern_is_refused_but_the_efs_vault_is_not(self):
        backup = client("backup")
        with self.assertRaises(ClientError) as ctx:
            backup.delete_recovery_point(BackupVaultName="no such/vault!", RecoveryPointArn="arn:aws:backup:x")
        self.assertEqual(error_code(ctx), "InvalidParameterValueException")  # AWS Backup's, per its API reference
        with self.assertRaises(ClientError) as ctx:  # the service-managed name passes validation, then is looked up
            backup.delete_recovery_point(BackupVaultName=self.VAULT, RecoveryPointArn="arn:aws:backup:x")
        self.assertEqual(error_code(ctx), "ResourceNotFoundException")


class ManagedSecretRotation(unittest.TestCase):
    """An RDS-managed master secret holds the instance's username and a generated password, rotates every 7 days
    on the instance's clock and on demand, and the old password becomes the secret's AWSPREVIOUS."""

    def database(self, factor):
        key = f"AKIDROTATE{uuid.uuid4().hex[:8].upper()}"
        self.assertEqual(arm({"key": key, "clock_factor": factor})[0], 200)
        rds, name = client("rds", key), f"rotate-{uuid.uuid4().hex[:8]}"
        db = rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="mysql",
                                    MasterUsername="ghost", ManageMasterUserPassword=True,
                                    AllocatedStorage=20)["DBInstance"]
        return rds, client("secretsmanager", key), name, db["MasterUserSecret"]["SecretArn"]

    @staticmethod
    def credentials(sm, arn, stage="AWSCURRENT"):
        return json.loads(sm.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"])

    def test_the_secret_rotates_every_seven_days_on_the_clock(self):
        factor = 1e-5  # 7 AWS days -> 6 s
        _, sm, _, arn = self.database(factor)
        first = self.credentials(sm, arn)
        self.assertEqual(first["username"], "ghost", "the instance's master username, not moto's 'admin'")
        self.assertEqual(len(first["password"]), 28)
        self.assertFalse(set(first["password"]) & set("/\"@ "), "characters RDS passwords may not hold")
        described = sm.describe_secret(SecretId=arn)
        self.assertTrue(described["RotationEnabled"])
        self.assertEqual(described["RotationRules"]["AutomaticallyAfterDays"], 7)
        due = described["NextRotationDate"].timestamp()
        self.assertAlmostEqual(due - time.time(), 7 * 86400 * factor, delta=1.5)
        seen = states_until(lambda: self.credentials(sm, arn)["password"], None, 7 * 86400 * factor + 3)
        self.assertEqual(len(seen), 2, f"one rotation within the period: {seen}")
        self.assertAlmostEqual(seen[1][0], 7 * 86400 * factor, delta=2)
        self.assertEqual(self.credentials(sm, arn, "AWSPREVIOUS"), first, "the old password is AWSPREVIOUS")
        self.assertEqual(self.credentials(sm, arn)["username"], "ghost")
        after = sm.describe_secret(SecretId=arn)
        self.assertIn("LastRotatedDate", after)
        self.assertGreater(after["NextRotationDate"].timestamp(), due, "the next turn is scheduled")

    def test_a_rotation_on_demand_applies_immediately_and_the_schedule_can_change(self):
        factor = 0.002  # the instance is available after ~1 s; a rotation takes 0.12 s
        rds, sm, name, arn = self.database(factor)
        states_until(lambda: rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0][
            "DBInstanceStatus"], "available", 10)
        first = self.credentials(sm, arn)
        with self.assertRaises(ClientError) as ctx:
            rds.modify_db_instance(DBInstanceIdentifier=name, RotateMasterUserPassword=True)
        self.assertEqual(error_code(ctx), "InvalidParameterCombination")
        rds.modify_db_instance(DBInstanceIdentifier=name, RotateMasterUserPassword=True, ApplyImmediately=True)
        status = lambda: rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0][
            "MasterUserSecret"]["SecretStatus"]
        seen = states_until(status, "active", 3)
        self.assertEqual([state for _, state in seen], ["rotating", "active"])
        second = self.credentials(sm, arn)
        self.assertNotEqual(second["password"], first["password"])
        # Secrets Manager's RotationRules reschedule a managed secret; RotateImmediately=False leaves the password.
        sm.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
        described = sm.describe_secret(SecretId=arn)
        self.assertEqual(described["RotationRules"]["AutomaticallyAfterDays"], 30)
        self.assertAlmostEqual(described["NextRotationDate"].timestamp() - time.time(), 30 * 86400 * factor,
                               delta=2)
        self.assertEqual(self.credentials(sm, arn), second)
        status_code, _, body = post("/_ghost/rotation/run")
        self.assertEqual(status_code, 200)
        self.assertIn(arn, json.loads(body)["rotating"])
        states_until(status, "active", 3)
        self.assertNotEqual(self.credentials(sm, arn)["password"], second["password"])
        rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
        self.assertNotIn(arn, json.loads(post("/_ghost/rotation/run")[2])["rotating"], "deleted with its instance")


class EarlierExtensions(unittest.TestCase):
    """The extensions that predate this suite, kept working: EFS backup policy, ECS CreateService."""

    def test_efs_backup_policy(self):
        efs = client("efs")
        fs = efs.create_file_system(CreationToken=str(uuid.uuid4()))["FileSystemId"]
        with self.assertRaises(ClientError) as ctx:
            efs.describe_backup_policy(FileSystemId=fs)
        self.assertEqual(error_code(ctx), "PolicyNotFound")
        states_until(lambda: efs.describe_file_systems(FileSystemId=fs)["FileSystems"][0]["LifeCycleState"],
                     "available", 10)
        efs.put_backup_policy(FileSystemId=fs, BackupPolicy={"Status": "ENABLED"})
        self.assertEqual(efs.describe_backup_policy(FileSystemId=fs)["BackupPolicy"], {"Status": "ENABLED"})

    def test_ecs_create_service_keeps_deployment_configuration(self):
        ecs = client("ecs")
        ecs.create_cluster(clusterName="ghost-ecs")
        ecs.register_task_definition(family="ghost", containerDefinitions=[{"name": "ghost", "image": "ghost:6",
                                                                            "memory": 512}])
        config = {"maximumPercent": 200, "minimumHealthyPercent": 100,
                  "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
        created = ecs.create_service(cluster="ghost-ecs", serviceName="ghost", taskDefinition="ghost", desiredCount=1,
                                     deploymentConfiguration=config)["service"]
        self.assertEqual(created["deploymentConfiguration"]["deploymentCircuitBreaker"], config["deploymentCircuitBreaker"])
        described = ecs.describe_services(cluster="ghost-ecs", services=["ghost"])["services"][0]
        self.assertEqual(described["deploymentConfiguration"]["maximumPercent"], 200)

    def test_ecs_create_service_keeps_capacity_provider_strategy_and_grace_period(self):
        ecs = client("ecs")
        ecs.create_cluster(clusterName="ghost-cps")
        ecs.register_task_definition(family="ghost-cps", containerDefinitions=[{"name": "ghost", "image": "ghost:6",
                                                                                "memory": 512}])
        ecs.create_service(cluster="ghost-cps", serviceName="ghost", taskDefinition="ghost-cps", desiredCount=1,
                           capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
                           healthCheckGracePeriodSeconds=300)
        described = ecs.describe_services(cluster="ghost-cps", services=["ghost"])["services"][0]
        self.assertEqual(described["capacityProviderStrategy"][0]["capacityProvider"], "FARGATE_SPOT")
        self.assertEqual(described["healthCheckGracePeriodSeconds"], 300)


if __name__ == "__main__":
    unittest.main(verbosity=2)
