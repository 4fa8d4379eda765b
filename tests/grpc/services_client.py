"""grpcio against stackwire's own services, over h2c on their RPC ports.

Usage: services_client.py PYOUT '{"question": "HOST:PORT", ...}'

PYOUT holds stackwire_pb2 and reflection_pb2 (protoc --python_out, flat).
For every service: reflection lists every service and resolves every
method's request and response types; then typed calls of every read method
and the create methods, acting as a user logged in through
UserService/Login (its token as `authorization: Bearer` metadata; a create
without one, or naming another author, is refused), a health check, a
deadline that expires, and 200 concurrent calls on one channel. Prints what it checked; raises on failure.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import reflection_pb2 as r  # noqa: E402
import stackwire_pb2 as pb  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402

ADDRS = json.loads(sys.argv[2])
SERVICES = {
    "question": "stackwire.QuestionService",
    "answer": "stackwire.AnswerService",
    "comment": "stackwire.CommentService",
    "user": "stackwire.UserService",
    "vote": "stackwire.VoteService",
}


def reflect(ch):
    """Lists services and resolves every method's types through reflection v1."""
    info = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                            request_serializer=r.ServerReflectionRequest.SerializeToString,
                            response_deserializer=r.ServerReflectionResponse.FromString)
    listed = next(info(iter([r.ServerReflectionRequest(list_services="")]), timeout=10))
    names = {s.name for s in listed.list_services_response.service}
    want = set(SERVICES.values()) | {"stackwire.Web", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"}
    assert want <= names, (want - names, names)
    methods = {}
    for svc in sorted(SERVICES.values()):
        resp = next(info(iter([r.ServerReflectionRequest(file_containing_symbol=svc)]), timeout=10))
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in resp.file_descriptor_response.file_descriptor_proto]
        types = {f".{f.package}.{m.name}" for f in files for m in f.message_type}
        sdesc = next(s for f in files for s in f.service if f"{f.package}.{s.name}" == svc)
        for m in sdesc.method:
            assert m.input_type in types and m.output_type in types, (svc, m.name)
            methods[f"/{svc}/{m.name}"] = (m.input_type.rsplit(".", 1)[1], m.output_type.rsplit(".", 1)[1])
    print("reflection: services", sorted(names), "and", len(methods), "methods resolved")
    return methods


def call(ch, methods, path, req, **kw):
    req_type, resp_type = methods[path]
    assert type(req).__name__ == req_type, (path, type(req).__name__, req_type)
    stub = ch.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                          response_deserializer=getattr(pb, resp_type).FromString)
    return stub(req, timeout=10, **kw)


channels = {k: grpc.insecure_channel(v) for k, v in ADDRS.items()}
methods = reflect(channels["question"])
Q, A, C, U, V = (channels[k] for k in ("question", "answer", "comment", "user", "vote"))
c = lambda ch, path, req, **kw: call(ch, methods, path, req, **kw)  # noqa: E731


def refused(code, ch, path, req, **kw):
    """The call fails with `code` (and nothing is created)."""
    try:
        got = c(ch, path, req, **kw)
    except grpc.RpcError as e:
        assert e.code() == code, (path, e.code(), e.details())
        return
    raise AssertionError(f"{path} answered {got} where {code} was due")


# Accounts, and a session each: the token is the credential of every call
# that acts as a user, sent as gRPC metadata exactly as an HTTP client sends
# its Authorization header.
ann = c(U, "/stackwire.UserService/Create", pb.SignUp(username="grpcio_ann", password="correct horse 1"))
bob = c(U, "/stackwire.UserService/Create", pb.SignUp(username="grpcio_bob", password="correct horse 2"))
session = c(U, "/stackwire.UserService/Login", pb.LogIn(username="grpcio_ann", password="correct horse 1"))
bob_session = c(U, "/stackwire.UserService/Login", pb.LogIn(username="grpcio_bob", password="correct horse 2"))
AS_ANN = (("authorization", "Bearer " + session.token),)
AS_BOB = (("authorization", "Bearer " + bob_session.token),)

# Creates act as the token's user: no author id needed, and the row is theirs.
ask = pb.CreateQuestion(title="Asked over grpcio", body="Does h2c work?", tags=["grpc"])
refused(grpc.StatusCode.UNAUTHENTICATED, Q, "/stackwire.QuestionService/Create", ask)
refused(grpc.StatusCode.UNAUTHENTICATED, Q, "/stackwire.QuestionService/Create", ask,
        metadata=(("authorization", "Bearer " + "x" * len(session.token)),))
refused(grpc.StatusCode.PERMISSION_DENIED, Q, "/stackwire.QuestionService/Create",
        pb.CreateQuestion(title="Not mine", body="Claims ann", author_id=ann.id, tags=["grpc"]), metadata=AS_BOB)
q = c(Q, "/stackwire.QuestionService/Create", ask, metadata=AS_ANN)
assert q.author_id == ann.id, q
a = c(A, "/stackwire.AnswerService/Create", pb.CreateAnswer(question_id=q.id, body="It does."), metadata=AS_BOB)
assert a.author_id == bob.id, a
refused(grpc.StatusCode.UNAUTHENTICATED, C, "/stackwire.CommentService/Create",
        pb.CreateComment(answer_id=a.id, body="Nice.", author_id=ann.id))
cm = c(C, "/stackwire.CommentService/Create", pb.CreateComment(answer_id=a.id, body="Nice.", author_id=ann.id),
       metadata=AS_ANN)
assert cm.author_id == ann.id, cm
refused(grpc.StatusCode.UNAUTHENTICATED, V, "/stackwire.VoteService/Cast",
        pb.CastVote(target="answer", id=a.id, direction="up", user_id=ann.id))
vote = c(V, "/stackwire.VoteService/Cast", pb.CastVote(target="answer", id=a.id, direction="up"), metadata=AS_ANN)
assert vote.score == 1, vote
# The viewer's own votes on a thread: the token's, and only with it.
refused(grpc.StatusCode.UNAUTHENTICATED, Q, "/stackwire.QuestionService/Thread",
        pb.ThreadQuery(id=q.id, viewer_id=ann.id))
mine = c(Q, "/stackwire.QuestionService/Thread", pb.ThreadQuery(id=q.id), metadata=AS_ANN)
assert [(v.target, v.id, v.value) for v in mine.my_votes] == [("answer", a.id, 1)], mine.my_votes
print("credential: creates acted as the token's user; none, a stale one or another's refused")

# Every read method.
assert c(Q, "/stackwire.QuestionService/Get", pb.Id(id=q.id)).title == "Asked over grpcio"
assert any(x.id == q.id for x in c(Q, "/stackwire.QuestionService/List", pb.ListQuestions(per_page=50)).questions)
assert c(Q, "/stackwire.QuestionService/Exists", pb.Id(id=q.id)).exists
t = c(Q, "/stackwire.QuestionService/Thread", pb.ThreadQuery(id=q.id))
assert t.answers[0].answer.id == a.id and t.answers[0].comments[0].id == cm.id
c(Q, "/stackwire.QuestionService/Search", pb.SearchQuery(q="grpcio"))
assert any(x.tag == "grpc" for x in c(Q, "/stackwire.QuestionService/Tags", pb.Empty()).tags)
c(Q, "/stackwire.QuestionService/Revisions", pb.Id(id=q.id))
assert c(A, "/stackwire.AnswerService/Get", pb.Id(id=a.id)).body == "It does."
assert c(A, "/stackwire.AnswerService/Exists", pb.Id(id=a.id)).exists
assert c(A, "/stackwire.AnswerService/ListForQuestion", pb.AnswerQuery(id=q.id)).answers[0].id == a.id
c(A, "/stackwire.AnswerService/Revisions", pb.Id(id=a.id))
assert c(C, "/stackwire.CommentService/ListForAnswers", pb.Ids(ids=[a.id])).comments[0].id == cm.id
assert c(U, "/stackwire.UserService/Authenticate", pb.Token(token=session.token)).id == ann.id
assert c(U, "/stackwire.UserService/Get", pb.Username(username="grpcio_bob")).user.id == bob.id
print("typed calls: every read method and the creates answered")

# A wrong request is the service's status, in the trailers.
try:
    c(Q, "/stackwire.QuestionService/Get", pb.Id(id=999999999))
    raise AssertionError("no such question, yet an answer")
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.NOT_FOUND, e.code()

# Health, on every service.
for name, ch in channels.items():
    health = ch.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda b: b,
                            response_deserializer=lambda b: b)
    assert health(b"", timeout=10) == b"\x08\x01", name  # status: SERVING
print("health: every service SERVING")

# A deadline shorter than the call: a login checks a password with argon2
# (tens of milliseconds by design), so 0.1 ms is always too short. (A thread
# read is one prepared query now and may well finish within 0.1 ms.)
try:
    c2 = U.unary_unary("/stackwire.UserService/Login", request_serializer=lambda m: m.SerializeToString(),
                       response_deserializer=pb.Session.FromString)
    c2(pb.LogIn(username="grpcio_ann", password="not the password"), timeout=0.0001)
    raise AssertionError("no deadline")
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e.code()

# 200 calls at once on one channel.
get = Q.unary_unary("/stackwire.QuestionService/Get", request_serializer=lambda m: m.SerializeToString(),
                    response_deserializer=pb.Question.FromString)
futs = [get.future(pb.Id(id=q.id), timeout=30) for _ in range(200)]
assert all(f.result().id == q.id for f in futs)
print("200 concurrent calls on one channel: all answered")
