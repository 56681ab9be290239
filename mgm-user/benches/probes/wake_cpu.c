/* CPU per wake-up of a process blocked in epoll_wait on a UDP socket (port 9999); see README.md. */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdio.h>
#include <unistd.h>
int main(){int s=socket(AF_INET,SOCK_DGRAM|SOCK_NONBLOCK,0);struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(9999)};
bind(s,(void*)&a,sizeof a);int e=epoll_create1(0);struct epoll_event ev={.events=EPOLLIN};epoll_ctl(e,EPOLL_CTL_ADD,s,&ev);
char b[2048];long n=0;for(;;){struct epoll_event out[8];int k=epoll_wait(e,out,8,-1);if(k<0)continue;while(recv(s,b,sizeof b,0)>0)n++;}}
